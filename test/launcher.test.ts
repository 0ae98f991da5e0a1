import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { expect } from "chai";
import { TERMINAL_NODE_FLAGS, missingNodeFlags } from "../bin/node-flags.js";
import { MERCORA_BIN, api, mercoraArgs, waitFor } from "../scripts/lib/processes.ts";
import { smallCatalog, startStore } from "./helpers/fixtures.ts";

/** A terminal started as `node bin/mercora.js terminal ...`, with no Node.js flags. */
interface Launched {
  launcher: ChildProcess;
  /** The process that runs the terminal. */
  terminalPid: number;
  http: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `bin/mercora.js` runs `mercora terminal` in a second process started with
 * the terminal's Node.js flags when `node` did not get them. These tests
 * start the store's T1 that way, on the data folder its first process left.
 */
describe("mercora launcher", function () {
  const { csv } = smallCatalog(40);
  let fixture: Awaited<ReturnType<typeof startStore>>;
  let args: string[];
  const started: ChildProcess[] = [];
  const terminalPids: number[] = [];

  before(async function () {
    fixture = await startStore([{ id: "A", name: "Sucursal Centro", timeZone: "America/Argentina/Buenos_Aires", terminals: ["T1"], openingStock: { default: 10 } }], csv);
    const t1 = fixture.store.terminal("A", "T1");
    args = mercoraArgs(t1.process.child);
    await t1.process.stop();
  });

  after(async function () {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    for (const pid of terminalPids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // It has already exited.
      }
    }
    await fixture?.stop();
  });

  async function launch(): Promise<Launched> {
    const launcher = spawn(process.execPath, [MERCORA_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    started.push(launcher);
    let output = "";
    launcher.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    launcher.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      launcher.once("exit", (code, signal) => resolve({ code, signal })),
    );
    const http = await waitFor(`"terminal ready" from T1 started by the launcher`, async () => {
      const ready = output.split("\n").find((line) => line.includes('"msg":"terminal ready"'));
      return ready ? (JSON.parse(ready) as { http: string }).http : undefined;
    }, 60_000);
    const children = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    expect(children, "processes the launcher started").to.have.length(1);
    terminalPids.push(Number(children[0]));
    return { launcher, terminalPid: Number(children[0]), http, output: () => output, exited };
  }

  it("lists the flags a command lacks", function () {
    expect(missingNodeFlags("terminal", [], "")).to.deep.equal([...TERMINAL_NODE_FLAGS]);
    expect(missingNodeFlags("terminal", ["--v8-pool-size=2"], "--max_semi_space_size=32")).to.deep.equal([]);
    expect(missingNodeFlags("relay", [], "")).to.deep.equal([]);
  });

  it("adds the flags and forwards SIGTERM", async function () {
    const run = await launch();
    const commandLine = readFileSync(`/proc/${run.terminalPid}/cmdline`, "utf8").split("\0");
    for (const flag of TERMINAL_NODE_FLAGS) expect(commandLine).to.include(flag);
    expect((await api(run.http, "/status")).status).to.equal(200);

    run.launcher.kill("SIGTERM");
    expect(await run.exited).to.deep.equal({ code: 0, signal: null });
    expect(existsSync(`/proc/${run.terminalPid}`), "terminal process after its exit").to.equal(false);
    expect(run.output()).to.include('"signal":"SIGTERM"');
  });

  it("stops the terminal after kill -9", async function () {
    const run = await launch();
    run.launcher.kill("SIGKILL");
    await waitFor(`the end of terminal process ${run.terminalPid} after its launcher was killed`, async () =>
      !existsSync(`/proc/${run.terminalPid}`) || readFileSync(`/proc/${run.terminalPid}/stat`, "utf8").includes(") Z ") ? true : undefined,
    );
    // The terminal stopped through its SIGTERM handler, which saves its documents first.
    await waitFor("the terminal's stop log line", async () => (run.output().includes('"msg":"terminal stopping"') ? true : undefined), 5_000);
    expect(run.output()).to.include('"signal":"SIGTERM"');
  });
});

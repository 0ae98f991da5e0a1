import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { DocumentId } from "@automerge/automerge-repo";
import type { Terminal } from "@mercora/terminal";
import { expect } from "chai";
import { destination, pino } from "pino";
import { mercoraArgs, waitFor } from "../scripts/lib/processes.ts";
import { directoryDocumentId, sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";

/**
 * A terminal that starts from its directory snapshot loads the directory
 * document after start. These tests run T1 inside the test process on the
 * data folder the store's T1 process left, so they can watch its repo and
 * make one disk write fail, which no real disk does on demand here.
 */
describe("terminal directory snapshot", function () {
  const { csv, products } = smallCatalog(60);
  let fixture: Awaited<ReturnType<typeof startStore>>;
  let terminalModule: typeof import("@mercora/terminal");
  let args: string[];
  let directoryId: DocumentId;
  let dataDir: string;
  let running: Terminal | null = null;

  before(async function () {
    // Mocha may load this file as CommonJS, and automerge-repo needs Automerge's ES module build, which loads its WebAssembly.
    terminalModule = await import("@mercora/terminal");
    fixture = await startStore([{ id: "A", name: "Sucursal Centro", timeZone: ZONE, terminals: ["T1", "T2"], openingStock: { default: 100 } }], csv);
    const t1 = fixture.store.terminal("A", "T1");
    dataDir = t1.dataDir;
    expect((await sell(t1.http, products[1]!, 1)).status).to.equal(201);
    await fixture.store.waitForConvergence("A");
    args = mercoraArgs(t1.process.child);
    // The clean stop writes the snapshot the tests start from.
    await t1.process.stop();
    directoryId = (await directoryDocumentId(fixture.root, "A")) as DocumentId;
  });

  afterEach(async function () {
    await running?.stop();
    running = null;
  });

  after(async function () {
    await fixture?.stop();
  });

  /** Returns the values given to a flag of the T1 process's command line. */
  function flag(name: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < args.length; i++) if (args[i] === name) out.push(args[i + 1]!);
    return out;
  }

  /** Starts T1 in this process with the settings of its CLI process, `prepare` running before `start`. */
  async function startT1(name: string, prepare?: (terminal: Terminal) => void): Promise<Terminal> {
    const logDir = join(fixture.root, "logs");
    await mkdir(logDir, { recursive: true });
    const log = pino({ level: "info" }, destination({ dest: join(logDir, `A-T1-${name}.log`), sync: true }));
    const relayUrl = flag("--relay")[0]!;
    const { keystore, state } = await terminalModule.openOrActivate({ dataDir, branch: "A", terminal: "T1", relayUrl, activationCode: null, log });
    const [host, port] = flag("--lan-listen")[0]!.split(":");
    const terminal = new terminalModule.Terminal({
      dataDir,
      branch: "A",
      terminal: "T1",
      relayUrl,
      keystore,
      activated: state,
      lanListen: { host: host!, port: Number(port) },
      lanAdvertise: null,
      lanPeers: flag("--lan-peer").map((value) => ({ id: value.slice(0, value.indexOf("=")), url: value.slice(value.indexOf("=") + 1) })),
      lanDiscovery: false,
      connectivity: terminalModule.DEFAULT_CONNECTIVITY,
      receipts: { target: "none", columns: 48, locale: "es-419", printer: null, textFolder: `${dataDir}-receipts` },
      bootstrapTimeoutMs: 30_000,
      clockOffsetMs: 0,
      clockSkewThresholdMs: 120_000,
      directoryRetryMs: 300,
      log,
    });
    running = terminal;
    prepare?.(terminal);
    await terminal.start();
    return terminal;
  }

  it("follows a directory a peer loaded", async function () {
    const terminal = await startT1("online");
    expect(terminal.branchDirectory().timeZone).to.equal(ZONE);
    // The relay syncs the directory as soon as T1 connects, which loads it, and T1 then follows it with no sale.
    await waitFor("T1 to follow the directory document", async () => (terminal.directoryLoaded ? true : undefined), 5000);
    expect(terminal.repo.handles[directoryId]?.isReady()).to.equal(true);
    expect(terminal.branchDirectory().terminals.T1).to.not.equal(undefined);
  });

  it("retries a directory follow that failed", async function () {
    let failures = 0;
    const terminal = await startT1("flush-error", (t) => {
      const flush = t.repo.flush.bind(t.repo);
      t.repo.flush = (async (ids?: DocumentId[]) => {
        // The first flush of the directory, which announces T1's LAN URL, fails as a disk error would.
        if (failures === 0 && ids?.includes(directoryId)) {
          failures += 1;
          throw new Error("EIO: i/o error, write");
        }
        return flush(ids);
      }) as typeof t.repo.flush;
    });
    await waitFor("T1 to follow the directory document after the failed flush", async () => (terminal.directoryLoaded ? true : undefined), 10_000);
    expect(failures).to.equal(1);
    const directory = await terminal.whenDirectoryLoaded();
    expect(directory.documentId).to.equal(directoryId);
    expect(Object.keys(terminal.documentHeads())).to.include(directoryId);
  });
});

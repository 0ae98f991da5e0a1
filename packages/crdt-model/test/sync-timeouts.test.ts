import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "chai";
import { isRepoLoadTimeout } from "../src/sync-timeouts.ts";

/** Builds an error shaped as the one automerge-repo's helpers/withTimeout.js throws. */
function repoTimeout(): Error {
  const error = new Error("withTimeout: timed out after 60000ms");
  error.name = "TimeoutError";
  return error;
}

describe("isRepoLoadTimeout", function () {
  it("accepts automerge-repo's load timeout", function () {
    expect(isRepoLoadTimeout(repoTimeout())).to.equal(true);
  });

  it("rejects other timeouts and errors", function () {
    const other = new Error("fetch timed out");
    other.name = "TimeoutError";
    expect(isRepoLoadTimeout(other)).to.equal(false);
    expect(isRepoLoadTimeout(new Error("withTimeout: timed out after 60000ms"))).to.equal(false);
    expect(isRepoLoadTimeout("withTimeout: timed out after 60000ms")).to.equal(false);
    expect(isRepoLoadTimeout(undefined)).to.equal(false);
  });
});

describe("keepRunningOnLoadTimeouts", function () {
  this.timeout(30_000);

  /** Runs a Node.js process that installs the guard, then rejects `reason` with no handler; returns its exit code and output. */
  function runWithRejection(reason: string): { status: number | null; output: string } {
    const source = join(import.meta.dirname, "..", "src", "sync-timeouts.ts");
    const script = [
      `const { keepRunningOnLoadTimeouts } = await import(${JSON.stringify(source)});`,
      `keepRunningOnLoadTimeouts({ warn: (_, m) => console.log("warn " + m), fatal: (_, m) => console.log("fatal " + m) });`,
      `const reason = ${reason};`,
      `Promise.reject(reason);`,
      `setTimeout(() => { console.log("still running"); process.exit(0); }, 200);`,
    ].join("\n");
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    return { status: result.status, output: result.stdout };
  }

  it("keeps running after a load timeout", function () {
    const { status, output } = runWithRejection(`Object.assign(new Error("withTimeout: timed out after 60000ms"), { name: "TimeoutError" })`);
    expect(status).to.equal(0);
    expect(output).to.include("warn document load timed out");
    expect(output).to.include("still running");
  });

  it("exits on any other rejection", function () {
    const { status, output } = runWithRejection(`new Error("disk full")`);
    expect(status).to.equal(1);
    expect(output).to.include("fatal unhandled promise rejection");
    expect(output).to.not.include("still running");
  });
});

import { execFile } from "node:child_process";
import { stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import { BUNDLE_FILE, bundleIsFresh } from "../bin/cli-bundle.js";
import { buildCli } from "../scripts/build-cli.ts";

const ROOT = join(import.meta.dirname, "..");
const run = promisify(execFile);

describe("mercora command bundle", () => {
  before(async () => {
    await buildCli();
  });

  it("runs the bundle's main", async () => {
    const script = `const { main } = await import(${JSON.stringify(pathToFileURL(BUNDLE_FILE).href)}); await main(["--help"]);`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, timeout: 60_000 });

    expect(stdout).to.contain("Usage: mercora <command>");
    expect(stdout).to.contain("terminal");
  });

  it("is stale after a source changes", async () => {
    const source = join(ROOT, "scripts", "cli.ts");
    const before = await stat(source);
    expect(bundleIsFresh()).to.equal(true);

    const later = new Date(Date.now() + 60_000);
    await utimes(source, later, later);
    try {
      expect(bundleIsFresh()).to.equal(false);
    } finally {
      await utimes(source, before.atime, before.mtime);
    }

    expect(bundleIsFresh()).to.equal(true);
  });

  it("serves the command through bin/mercora.js", async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, "bin", "mercora.js"), "terminal", "--help"], { cwd: ROOT, timeout: 60_000 });

    expect(stdout).to.contain("Options:");
  });
});

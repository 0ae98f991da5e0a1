#!/usr/bin/env node
// Entry point of the `mercora` command. It runs the JavaScript bundle that
// scripts/build-cli.ts makes (`npm start` and `npm test` build it) when that
// bundle is newer than every source it holds; otherwise it registers tsx and
// runs the TypeScript sources as they are. MERCORA_TSX=1 always uses tsx.
//
// A command that needs Node.js flags at process start (bin/node-flags.js)
// and did not get them runs in a second process started with them. This
// process then passes on SIGINT, SIGTERM and SIGHUP, and exits as that one
// does. Giving the flags to `node` yourself saves the second process.
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { BUNDLE_FILE, bundleIsFresh } from "./cli-bundle.js";
import { missingNodeFlags } from "./node-flags.js";

/** Set in the environment of a process that `relaunch` started, to the launcher's pid. */
const LAUNCHER_ENV = "MERCORA_LAUNCHER_PID";

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];

async function loadMain() {
  if (process.env.MERCORA_TSX !== "1" && bundleIsFresh()) return (await import(pathToFileURL(BUNDLE_FILE).href)).main;
  const { register } = await import("tsx/esm/api");
  register();
  return (await import("../scripts/cli.ts")).main;
}

/** Runs this command again in a process started with `flags`, and follows it. */
function relaunch(flags) {
  const child = spawn(process.execPath, [...flags, ...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    stdio: ["inherit", "inherit", "inherit", "ipc"],
    // A process group of its own, so Ctrl-C reaches it once: through this process.
    detached: true,
    env: { ...process.env, [LAUNCHER_ENV]: String(process.pid) },
  });
  for (const signal of FORWARDED_SIGNALS) process.on(signal, () => child.kill(signal));
  child.once("error", (error) => {
    console.error(`mercora: starting ${process.execPath} ${flags.join(" ")} failed: ${error.message}`);
    process.exit(1);
  });
  child.once("exit", (code, signal) => {
    if (code !== null) process.exit(code);
    for (const forwarded of FORWARDED_SIGNALS) process.removeAllListeners(forwarded);
    process.kill(process.pid, signal);
  });
}

/**
 * In a process that `relaunch` started: stops it as SIGTERM does when the
 * launcher ends without stopping it first (kill -9 of the launcher).
 */
function followLauncher() {
  delete process.env[LAUNCHER_ENV];
  if (!process.channel) return;
  process.channel.unref();
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}

const missing = missingNodeFlags(process.argv[2]);
if (missing.length > 0 && process.env[LAUNCHER_ENV] === undefined) {
  relaunch(missing);
} else {
  if (process.env[LAUNCHER_ENV] !== undefined) followLauncher();
  const main = await loadMain();
  await main(process.argv.slice(2));
}

// Preloaded with NODE_OPTIONS="--import <this file>" into processes the bench
// spawns through the CLI, because Node.js 20 rejects --cpu-prof in NODE_OPTIONS.
// It starts the V8 CPU profiler and writes a .cpuprofile into
// MERCORA_BENCH_PROFILE_DIR when the process exits.
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.MERCORA_BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  process.on("exit", () => {
    // A session on the same thread runs its callbacks before post() returns, so this works in an exit handler.
    session.post("Profiler.stop", (error, result) => {
      if (error || !result) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

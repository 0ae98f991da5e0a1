// Node.js flags that a `mercora` command needs at process start, and the
// check that bin/mercora.js makes before it runs one. Plain JavaScript, so
// the launcher can read it before transpiling anything.

/**
 * Flags for `mercora terminal`. Node.js and V8 read them only at process start.
 *
 * - `--v8-pool-size=1`: one V8 worker thread instead of Node's four. A till
 *   has 2 cores. With four workers (garbage collection, compilation), the
 *   workers could hold both cores when a sale's log write completed, and
 *   the sale waited for a core even with the workers' priority lowered
 *   (`lowerHelperThreadPriority`).
 * - `--max-semi-space-size=64`: a young generation of up to 64 MiB a
 *   semi-space instead of 16, so V8 scavenges about a quarter as often
 *   during a burst of sales.
 *
 * 2,000 sales back to back in the sale acknowledgement bench, alternated
 * runs (docs/benchmarks.md): on an empty terminal the p99 went from
 * 4.05-4.27 ms to 2.44-2.53 ms, and after 50,000 tickets from 4.93-4.97 ms
 * to 2.34-2.51 ms. The catch-up bench got slower with them (see the TODO
 * in packages/terminal/src/thread-priority.ts).
 */
export const TERMINAL_NODE_FLAGS = Object.freeze(["--v8-pool-size=1", "--max-semi-space-size=64"]);

/** Returns the Node.js flags that `command` (the first argument of `mercora`) needs. */
export function nodeFlagsFor(command) {
  return command === "terminal" ? TERMINAL_NODE_FLAGS : [];
}

/**
 * Returns the flags of `nodeFlagsFor(command)` that this process did not
 * start with. A flag passed with another value counts as passed, because
 * the one who started the process chose that value.
 */
export function missingNodeFlags(command, execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? "") {
  const name = (arg) => arg.split("=")[0].replace(/_/g, "-");
  const passed = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map(name));
  return nodeFlagsFor(command).filter((flag) => !passed.has(name(flag)));
}

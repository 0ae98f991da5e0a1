import { readdirSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

/**
 * Nice steps between the main thread and the helper threads. Traces of
 * 2,000 sales with 10 ms idle after each ran on 2 cores (docs/benchmarks.md,
 * notes on the sale acknowledgement). Their p99 acknowledgement was
 * 3.2-3.3 ms with no steps, 2.6-2.8 ms with 5, 1.9 ms with 10 and 1.7-1.9 ms
 * with 19. With 10, the kernel gives the main thread about nine times a
 * helper's share of a busy core.
 */
export const HELPER_NICE_STEPS = 10;
// TODO: these steps can starve the terminal's one V8 worker thread (bin/node-flags.js) when other processes keep both
// cores busy. In the catch-up bench four terminals that have just started share 2 cores with the relay. At commit
// b8561d6, some of them then ran Automerge's WebAssembly unoptimized: SHA-256 took 573 ms of a terminal's main thread
// against 44 ms, and such a terminal used 2.2-2.9 s of CPU against 0.6-0.9 s. The catch-up took 5.06 s against 3.2 s
// at 337a4dd. With the flags but without these steps, two runs took 3.2 and 3.6 s, but with 10 ms idle after each
// sale the p99 acknowledgement rose to 3.3-3.8 ms. With `--no-concurrent-marking` added, which leaves that worker
// to the compilers, it took 3.28 and 3.15 s, but back to back after 50,000 tickets the p99 rose from 2.26-2.48 ms
// to 3.15-3.44 ms in alternated runs. With two V8 workers it took 2.92 and 3.94 s. Their cost to the sales is not
// settled: one run of each row came in a slow hour.

/** The highest nice value on Linux, the lowest priority. */
const LOWEST_PRIORITY = 19;

/** Outcome of `lowerHelperThreadPriority`. */
export interface HelperPriorityResult {
  /** Count of helper threads moved to `nice`. */
  lowered: number;
  /** Count of helper threads already at `nice` or a lower priority. */
  unchanged: number;
  /** Thread ids whose priority could not be changed (the thread ended, or the system rejected the change). */
  failed: number[];
  /** The nice value set, or null where the system gives no per-thread priority. */
  nice: number | null;
}

/**
 * Lowers the scheduling priority of every thread of this process except
 * the main one: V8's compiler and garbage collector workers, libuv's
 * thread pool and any worker thread started so far. Threads started later
 * by the main thread get its priority.
 *
 * The main thread runs the event loop, which handles the cashier's
 * requests. A sale blocks on its write-ahead log write. On a 2-core till
 * the helpers may hold both cores when that write completes, and the main
 * thread then waits for a core: in the traces above, most sales over
 * 2.5 ms did. With a lower priority for the helpers, the main thread gets
 * a core at once, and the helpers' work runs while it waits.
 *
 * Linux only, where a nice value belongs to a thread. Elsewhere, or
 * without /proc, it changes nothing and returns `nice: null`. Raising a
 * priority needs privileges, so this only lowers.
 */
export function lowerHelperThreadPriority(steps = HELPER_NICE_STEPS): HelperPriorityResult {
  const untouched: HelperPriorityResult = { lowered: 0, unchanged: 0, failed: [], nice: null };
  if (process.platform !== "linux") return untouched;
  let threads: string[];
  try {
    threads = readdirSync("/proc/self/task");
  } catch {
    // No /proc (a sandbox may hide it): the threads keep their priority, and the terminal runs as before.
    return untouched;
  }
  const nice = Math.min(LOWEST_PRIORITY, getPriority(process.pid) + steps);
  const result: HelperPriorityResult = { lowered: 0, unchanged: 0, failed: [], nice };
  for (const entry of threads) {
    const tid = Number(entry);
    if (!Number.isInteger(tid) || tid === process.pid) continue;
    try {
      if (getPriority(tid) >= nice) {
        result.unchanged++;
        continue;
      }
      setPriority(tid, nice);
      result.lowered++;
    } catch {
      result.failed.push(tid);
    }
  }
  return result;
}

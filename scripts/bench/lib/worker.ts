import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ROOT } from "./stats.ts";

const RESULT_PREFIX = "BENCH-RESULT ";

/**
 * Runs `scripts/bench/SCRIPT.ts` in a fresh Node.js process with `input` as
 * JSON in argv[2], and returns the JSON the worker printed on its result
 * line. The worker runs in its own process group, so a timeout stops it and
 * every process it started. Its stderr and other output go to `logPath`.
 */
export async function runWorker<T>(
  script: string,
  input: unknown,
  options: { logPath: string; timeoutMs: number; nodeArgs?: string[] },
): Promise<T> {
  await mkdir(dirname(options.logPath), { recursive: true });
  const log = createWriteStream(options.logPath, { flags: "a" });
  const args = ["--import", "tsx", ...(options.nodeArgs ?? []), join(ROOT, "scripts", "bench", `${script}.ts`), JSON.stringify(input)];
  log.write(`\n$ node ${args.join(" ")}\n`);
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let result: string | null = null;
  let buffer = "";
  child.stdout.on("data", (chunk: Buffer) => {
    log.write(chunk);
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.startsWith(RESULT_PREFIX)) result = line.slice(RESULT_PREFIX.length);
    }
  });
  child.stderr.on("data", (chunk: Buffer) => log.write(chunk));
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // The group has already exited.
    }
  };
  const timer = setTimeout(killGroup, options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  // Children a worker failed to stop would outlive it: end its group.
  killGroup();
  log.end();
  if (result === null) {
    throw new Error(
      `Bench worker ${script} exited with code ${code} without a result (timeout ${options.timeoutMs} ms); see ${options.logPath}`,
    );
  }
  return JSON.parse(result) as T;
}

/**
 * Entry point of a bench worker: reads its JSON input from argv[2], runs
 * `main`, prints the result line and exits. The worker exits with code 2
 * when it runs longer than `maxMs`.
 */
export function workerMain<I, O>(main: (input: I) => Promise<O>, maxMs = 3 * 3_600_000): void {
  const input = JSON.parse(process.argv[2] ?? "{}") as I;
  const timer = setTimeout(() => {
    process.stderr.write(`bench worker timed out after ${maxMs} ms\n`);
    process.exit(2);
  }, maxMs);
  timer.unref();
  main(input).then(
    (output) => {
      process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(output)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench worker failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}

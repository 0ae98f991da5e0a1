/**
 * A PouchDB terminal for the catch-up figure: opens its database, prints
 * "ready", and on "go" from stdin replicates it once to the target URL,
 * prints "done" with its peak RSS in bytes and exits.
 */
import { createInterface } from "node:readline";
import { openDurablePouch } from "./lib/pouch.ts";

const { dbPath, target } = JSON.parse(process.argv[2] ?? "{}") as { dbPath: string; target: string };
const db = openDurablePouch(dbPath);
await db.info();
process.stdout.write("ready\n");
const lines = createInterface({ input: process.stdin });
const timer = setTimeout(() => {
  process.stderr.write(`replication of ${dbPath} timed out\n`);
  process.exit(2);
}, 15 * 60_000);
for await (const line of lines) {
  if (line !== "go") continue;
  await db.replicate.to(target);
  clearTimeout(timer);
  // The parent reads the peak RSS from this line: the process may have exited before it could read /proc.
  process.stdout.write(`done ${process.resourceUsage().maxRSS * 1024}\n`, () => process.exit(0));
  break;
}

/**
 * A PouchDB terminal for the catch-up figure: opens its database, prints
 * "ready", and on "go" from stdin replicates it once to the target URL,
 * prints "done" and exits. Peak RSS is read by the parent from /proc.
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
  process.stdout.write("done\n");
  clearTimeout(timer);
  // Keep the process alive briefly so the parent can read its peak RSS.
  setTimeout(() => process.exit(0), 2000);
  break;
}

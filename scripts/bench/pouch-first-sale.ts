/**
 * A PouchDB terminal's cold start: opens its database, records one durable
 * sale, prints "sold" and waits to be killed. The sale comes priced in the
 * JSON file given second, as the bench prepares it before the clock starts.
 */
import { readFileSync } from "node:fs";
import { openDurablePouch } from "./lib/pouch.ts";

const db = openDurablePouch(process.argv[2]!);
const info = await db.info();
const sale = JSON.parse(readFileSync(process.argv[3]!, "utf8")) as Record<string, unknown>;
const seq = info.doc_count + 1;
await db.put({ ...sale, _id: `B1-T1-${String(seq).padStart(8, "0")}`, seq });
process.stdout.write("sold\n");
setTimeout(() => process.exit(0), 60_000);

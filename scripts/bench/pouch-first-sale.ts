/** A PouchDB terminal's cold start: opens its database, records one durable sale, prints "sold" and waits to be killed. */
import { catalogProducts } from "./lib/fixture.ts";
import { openDurablePouch } from "./lib/pouch.ts";
import { saleRecord } from "./lib/records.ts";

const db = openDurablePouch(process.argv[2]!);
const info = await db.info();
await db.put(saleRecord(catalogProducts(), "T1", info.doc_count + 1, new Date()));
process.stdout.write("sold\n");
setTimeout(() => process.exit(0), 60_000);

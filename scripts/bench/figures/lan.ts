import { rm } from "node:fs/promises";
import { join } from "node:path";
import { cached, freshCopy, preparedOnly, profileDirOf, worker } from "../lib/context.ts";
import { topFrames, topProductFrames } from "../lib/profile.ts";
import type { TopFrame } from "../lib/profile.ts";
import type { BenchContext, FigureResult, FigureRow } from "../lib/context.ts";
import { spread } from "../lib/stats.ts";
import type { LanResult } from "../lan.ts";


/** Measures how soon a sale on one terminal shows in another terminal's stock over the LAN. */
export async function lanFigure(ctx: BenchContext): Promise<FigureResult> {
  const sales = ctx.quick ? 30 : 200;
  const rate = 5;
  const data = await cached(ctx, "lan-branch", (dir) => worker(ctx, "lan", { mode: "generate", dir }, "lan-generate", 10 * 60_000).then(() => undefined));
  if (ctx.prepareOnly) return preparedOnly("lan", "Sale visible in another terminal's stock over the LAN");
  const results: Record<"mercora" | "pouch" | "ws", LanResult[]> = { mercora: [], pouch: [], ws: [] };
  const timeoutMs = 10 * 60_000;
  for (let run = 1; run <= ctx.runs; run++) {
    ctx.log(`LAN visibility run ${run}/${ctx.runs}`);
    const dir = await freshCopy(ctx, data, "lan-mercora");
    results.mercora.push(await worker<LanResult>(ctx, "lan", { mode: "mercora", dir, sales, rate }, `lan-mercora-${run}`, timeoutMs));
    const pouchDir = join(ctx.workDir, "lan-pouch");
    await rm(pouchDir, { recursive: true, force: true });
    results.pouch.push(await worker<LanResult>(ctx, "lan", { mode: "pouch", dir: pouchDir, sales, rate }, `lan-pouch-${run}`, timeoutMs));
    results.ws.push(await worker<LanResult>(ctx, "lan", { mode: "ws", dir: pouchDir, sales, rate }, `lan-ws-${run}`, timeoutMs));
  }
  // One more run with T2 under the CPU profiler, kept out of the figures.
  let selfFrames: TopFrame[] = [];
  let productFrames: TopFrame[] = [];
  if (!ctx.skipProfiles) {
    const profileDir = profileDirOf(ctx, "lan-t2-profile");
    await rm(profileDir, { recursive: true, force: true });
    const profiled = await freshCopy(ctx, data, "lan-profile");
    await worker(ctx, "lan", { mode: "mercora", dir: profiled, sales, rate, profileDir }, "lan-t2-profile", timeoutMs);
    selfFrames = await topFrames(profileDir, 6);
    productFrames = await topProductFrames(profileDir, 8);
  }
  const rows: FigureRow[] = (["p50", "p99"] as const).map((field) => {
    const mercora = spread(results.mercora.map((r) => r[field]));
    const pouch = spread(results.pouch.map((r) => r[field]));
    return {
      figure: "sale visible in another terminal's stock over the LAN",
      metric: `${field}, ${sales} sales at ${rate}/s`,
      unit: "ms",
      mercora,
      pouch,
      limit: spread(results.ws.map((r) => r[field])),
      limitName: "websocket round trip",
      goal: "ratio <= 0.5",
      met: mercora.median / pouch.median <= 0.5,
      peakRss: {
        mercora: spread(results.mercora.map((r) => Math.max(r.peakRssWriter, r.peakRssReader))),
        pouch: spread(results.pouch.map((r) => Math.max(r.peakRssWriter, r.peakRssReader))),
      },
      notes: [],
    };
  });
  return {
    id: "lan",
    title: "Sale visible in another terminal's stock over the LAN",
    method: [
      "Mercora: terminal T2 is a `mercora terminal` process with no relay; T1 is a `Terminal` in the bench process that dials T2's LAN websocket " +
        "with its device token, both opening an activated branch folder that a generator process made, each with the cashier signed in. " +
        "Since commit b8561d6 both processes run with the terminal's Node.js flags. Each sale is a 3-line ticket whose first SKU no earlier sale used; " +
        "the clock starts when `recordSale` is called on T1 and stops when `GET /stock/:sku` on T2, polled with no pause, shows the stock lowered by the sold quantity.",
      "PouchDB: T2 is a `pouchdb-server` process; T1 is a pouchdb-node database (fsync forced) in the bench process with live replication " +
        "(`replicate.to`, `live: true`) to T2. The clock starts before T1 builds the sale record (priced, hashed, chained and signed, as `recordSale` does; " +
        "up to commit 9748652 it started after) and runs through `db.put` until `GET /t2/:id` on T2, polled with no pause, finds the document. " +
        "A PouchDB terminal would derive stock from those documents, which this leaves out.",
      "On both sides the bench polls T2 from T1's process over one kept-alive node:http connection. Up to commit 577e011 each poll was a `fetch`, " +
        "which took about a fifth of T1's process's busy time on the Mercora side.",
      `Sales are paced at ${rate} per second after 10 warm-up sales. Limit: a round trip of one record's JSON over a raw websocket ` +
        "(ws package) to an echo server process on 127.0.0.1, paced the same way. The RSS column is the larger of the writer and reader processes.",
    ],
    rows,
    findings: [
      ...(selfFrames.length > 0
        ? [
            `CPU profile of T2 while it receives the sales, top self time (share of all samples, including idle): ${selfFrames.map((f) => `${f.frame} ${f.percent}%`).join("; ")}. ` +
              `Product frames by total time: ${productFrames.map((f) => `${f.frame} ${f.percent}%`).join("; ")}.`,
          ]
        : []),
    ],
    commands: [],
  };
}

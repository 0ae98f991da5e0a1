/**
 * PouchDB side of the relay capacity figure. A pouchdb-server process has
 * one database, `cloud`, for every store's tickets. Simulated terminals push one ticket a minute
 * each with `POST /cloud/_bulk_docs`, which is what a PouchDB replication
 * sends for one new document. A consumer of the server's changes feed
 * verifies each ticket, as the relay does. Lag runs from the push until the
 * consumer has verified the ticket, and the server's RSS is sampled every `sampleMs`.
 */
import { join } from "node:path";
import type { LedgerRecord } from "@mercora/crdt-model";
import { catalogProducts, storeIds } from "./lib/fixture.ts";
import { PouchDB, startPouchServer } from "./lib/pouch.ts";
import { saleRecord } from "./lib/records.ts";
import { freePort } from "./lib/store-procs.ts";
import { nowMs, peakRssOf, percentile, rssOf, sleep } from "./lib/stats.ts";
import { workerMain } from "./lib/worker.ts";
import type { CapacityResult, IntervalReport } from "./capacity.ts";

interface Input {
  dir: string;
  stores: number;
  durationMs: number;
  sampleMs: number;
  reportMs: number;
}

workerMain<Input, CapacityResult>(async (input) => {
  const server = await startPouchServer(join(input.dir, "cloud"), await freePort());
  const pid = server.child.pid!;
  const dbUrl = `${server.url}/cloud`;
  const created = await fetch(dbUrl, { method: "PUT" });
  if (!created.ok) throw new Error(`Creating ${dbUrl} failed: HTTP ${created.status}`);
  const products = catalogProducts();
  const terminals = storeIds(input.stores).flatMap((store) => ["T1", "T2", "T3", "T4"].map((terminal) => ({ store, terminal, seq: 0 })));
  const pushedAt = new Map<string, number>();
  let lags: number[] = [];
  let written = 0;
  let acknowledged = 0;
  const feed = new PouchDB(dbUrl).changes({ live: true, since: 0, include_docs: true });
  feed.on("change", (change) => {
    const doc = change.doc as unknown as LedgerRecord & { _id: string };
    const at = pushedAt.get(doc._id);
    if (at === undefined) return;
    const lines = doc.lines.reduce((sum, line) => sum + line.total, 0);
    if (lines !== doc.total) throw new Error(`ticket ${doc._id} failed verification`);
    pushedAt.delete(doc._id);
    lags.push(nowMs() - at);
    acknowledged += 1;
  });
  const rss: CapacityResult["rss"] = [];
  const intervals: IntervalReport[] = [];
  const intervalMs = 60_000;
  const start = nowMs();
  const nextDue = terminals.map((_, index) => start + (index * intervalMs) / terminals.length);
  let lastReport = start;
  let lastSample = start;
  const inFlight = new Set<Promise<void>>();
  try {
    while (nowMs() - start < input.durationMs) {
      const now = nowMs();
      for (let i = 0; i < terminals.length; i++) {
        if (nextDue[i]! > now) continue;
        nextDue[i]! += intervalMs;
        const sim = terminals[i]!;
        sim.seq += 1;
        const doc = { ...saleRecord(products, sim.terminal, sim.seq, new Date()), _id: `${sim.store}-${sim.terminal}-${String(sim.seq).padStart(8, "0")}`, branch: sim.store };
        pushedAt.set(doc._id, nowMs());
        written += 1;
        const push = fetch(`${dbUrl}/_bulk_docs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ docs: [doc] }) })
          .then((response) => response.arrayBuffer())
          .then(() => undefined);
        inFlight.add(push);
        void push.finally(() => inFlight.delete(push));
      }
      if (now - lastSample >= input.sampleMs) {
        rss.push({ atMs: now - start, rss: rssOf(pid), cpuPercent: Number.NaN });
        lastSample = now;
      }
      if (now - lastReport >= input.reportMs) {
        intervals.push({ atMs: now - start, written, acknowledged, outstanding: pushedAt.size, p50: percentile(lags, 0.5), p99: percentile(lags, 0.99), max: lags.length ? Math.max(...lags) : null });
        lags = [];
        lastReport = now;
      }
      await sleep(20);
    }
    await Promise.all(inFlight);
    const graceEnd = nowMs() + 30_000;
    while (nowMs() < graceEnd && pushedAt.size > 0) await sleep(200);
    return {
      stores: input.stores,
      terminals: terminals.length,
      connectFailures: 0,
      relayStartMs: 0,
      connectMs: 0,
      written,
      acknowledged,
      outstanding: pushedAt.size,
      intervals,
      rss,
      peakRss: peakRssOf(pid),
    };
  } finally {
    feed.cancel();
    await server.stop();
  }
}, 3 * 3_600_000);

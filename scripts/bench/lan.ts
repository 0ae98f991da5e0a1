/**
 * Worker for the LAN visibility figure: a sale recorded on terminal T1 (in
 * this process) until terminal T2 (another process) shows it, polled over
 * T2's HTTP API. Modes:
 * - `generate`: a two-terminal branch, activated from a relay that then stops.
 * - `mercora`: T2 is a `mercora terminal` process, and T1 is a `Terminal`
 *   here that dials it over the LAN websocket with its device token; a
 *   cashier is signed in at both. The time runs from `recordSale` until
 *   `GET /stock/:sku` on T2 shows the new stock.
 * - `pouch`: T2 is a pouchdb-server process, and T1 is a pouchdb-node
 *   database here with live replication to it. The time runs from building
 *   the sale record, then `db.put`, until `GET /t2/:id` on T2 finds the
 *   document.
 * - `ws`: raw websocket round trip on loopback to an echo server process.
 */
import { spawn } from "node:child_process";
import { Agent, get } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import type { Terminal } from "@mercora/terminal";
import { api, startMercora } from "../lib/processes.ts";
import { BRANCH, buildBranch, catalogProducts, fileLogger, requireTerminalNodeFlags, signInCashier, startTerminal, ticket } from "./lib/fixture.ts";
import { openDurablePouch, startPouchServer } from "./lib/pouch.ts";
import { saleRecord } from "./lib/records.ts";
import { freePort, withCpuProfile } from "./lib/store-procs.ts";
import { ROOT, nowMs, ownPeakRss, peakRssOf, percentile, sleep } from "./lib/stats.ts";
import { workerMain } from "./lib/worker.ts";

interface Input {
  mode: "generate" | "mercora" | "pouch" | "ws";
  dir: string;
  sales?: number;
  /** Sales per second. */
  rate?: number;
  timeoutMs?: number;
  /** Folder for a CPU profile of T2, the receiving terminal. */
  profileDir?: string;
}

export interface LanResult {
  p50: number;
  p99: number;
  max: number;
  samples: number;
  peakRssWriter: number;
  peakRssReader: number;
}

const POLL_TIMEOUT_MS = 10_000;

/** One kept-alive connection for the polling of T2, so each poll costs one small request. */
const POLL_AGENT = new Agent({ keepAlive: true, maxSockets: 1 });

/**
 * GETs `url` over the polling connection with node:http. The poller shares
 * T1's process, where a `fetch` per poll took about a fifth of the busy time.
 */
function pollGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: POLL_AGENT, timeout: POLL_TIMEOUT_MS }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${url} timed out after ${POLL_TIMEOUT_MS} ms`)));
    request.on("error", reject);
  });
}

/** Polls `check` with no pause between requests until it returns true or 10 s pass. */
async function pollUntil(what: string, check: () => Promise<boolean>): Promise<number> {
  const deadline = nowMs() + POLL_TIMEOUT_MS;
  for (;;) {
    if (await check()) return nowMs();
    if (nowMs() > deadline) throw new Error(`${what} not visible after ${POLL_TIMEOUT_MS} ms`);
  }
}

async function paced(count: number, rate: number, step: (n: number) => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  const start = nowMs();
  for (let n = 0; n < count; n++) {
    const due = start + (n * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    samples.push(await step(n));
  }
  return samples;
}

function summarize(samples: number[], writer: number, reader: number): LanResult {
  return {
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    max: Math.max(...samples),
    samples: samples.length,
    peakRssWriter: writer,
    peakRssReader: reader,
  };
}

async function measureMercora(input: Input): Promise<LanResult> {
  requireTerminalNodeFlags();
  const lanPort = await freePort();
  const t2 = await withCpuProfile(input.profileDir, () =>
    startMercora(
      "terminal T2",
      ["terminal", "--data", join(input.dir, "T2"), "--branch", BRANCH, "--terminal", "T2", "--lan-listen", `127.0.0.1:${lanPort}`, "--no-lan-discovery"],
      join(input.dir, "logs", "T2.log"),
      120_000,
    ),
  );
  let t1: Terminal | null = null;
  try {
    await signInCashier(t2.ready.http);
    t1 = await startTerminal({
      dataDir: join(input.dir, "T1"),
      terminal: "T1",
      relayUrl: null,
      lanPeers: [{ id: "T2", url: `ws://127.0.0.1:${lanPort}` }],
      log: fileLogger(join(input.dir, "logs", "T1.log")),
    });
    const writer = t1;
    const connectDeadline = Date.now() + 60_000;
    while ((await api<{ lanPeers: string[] }>(t2.ready.http, "/status")).body.lanPeers.length === 0) {
      if (Date.now() > connectDeadline) throw new Error("T1 did not connect to T2 over the LAN within 60 s");
      await sleep(100);
    }
    const products = catalogProducts();
    const stockAtT2 = async (sku: string) => {
      const response = await pollGet(`${t2.ready.http}/stock/${encodeURIComponent(sku)}`);
      if (response.status !== 200) {
        const logPath = join(input.dir, "logs", "T2.log");
        throw new Error(`GET /stock/${sku} on T2 failed with HTTP ${response.status}: ${response.body.slice(0, 200)}. See ${logPath}`);
      }
      return (JSON.parse(response.body) as { stock: number }).stock;
    };
    const step = async (n: number) => {
      const body = ticket(products, n);
      const line = body.lines[0]!;
      const before = await stockAtT2(line.sku);
      const t0 = nowMs();
      const sale = writer.recordSale(body);
      const seen = await pollUntil(`sale ${n} at T2`, async () => (await stockAtT2(line.sku)) === before - line.qty);
      await sale;
      return seen - t0;
    };
    await paced(10, input.rate ?? 5, step);
    const samples = await paced(input.sales ?? 200, input.rate ?? 5, (n) => step(n + 10));
    return summarize(samples, ownPeakRss(), peakRssOf(t2.child.pid));
  } finally {
    try {
      await t1?.stop();
    } finally {
      await t2.stop(5000);
    }
  }
}

async function measurePouch(input: Input): Promise<LanResult> {
  const server = await startPouchServer(join(input.dir, "pouch-T2"), await freePort());
  const t2Url = `${server.url}/t2`;
  const created = await fetch(t2Url, { method: "PUT" });
  if (!created.ok) throw new Error(`Creating ${t2Url} failed: HTTP ${created.status}`);
  const db = openDurablePouch(join(input.dir, "pouch-T1"));
  const replication = db.replicate.to(t2Url, { live: true, retry: true });
  replication.catch(() => undefined);
  try {
    const products = catalogProducts();
    const step = async (n: number) => {
      // The clock starts before the record is built, as Mercora's starts before `recordSale` prices, hashes and signs it.
      const t0 = nowMs();
      const doc = saleRecord(products, "T1", n + 1, new Date());
      await db.put(doc);
      const seen = await pollUntil(`document ${doc._id} at T2`, async () => (await pollGet(`${t2Url}/${doc._id}`)).status === 200);
      return seen - t0;
    };
    await paced(10, input.rate ?? 5, step);
    const samples = await paced(input.sales ?? 200, input.rate ?? 5, (n) => step(n + 10));
    return summarize(samples, ownPeakRss(), peakRssOf(server.child.pid));
  } finally {
    replication.cancel();
    await db.close();
    await server.stop();
  }
}

async function measureWebsocket(input: Input): Promise<LanResult> {
  const server = spawn(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "bench", "ws-echo.ts")], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: server.stdout! });
      lines.once("line", (line) => resolve(Number(line)));
      server.once("exit", (code) => reject(new Error(`websocket echo server exited with code ${code}`)));
    });
    const socket = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    // One record's JSON, the payload a sale puts on the LAN.
    const payload = JSON.stringify(saleRecord(catalogProducts(), "T1", 1, new Date()));
    const step = async () => {
      const t0 = nowMs();
      const echoed = new Promise((resolve) => socket.once("message", resolve));
      socket.send(payload);
      await echoed;
      return nowMs() - t0;
    };
    await paced(10, input.rate ?? 5, step);
    const samples = await paced(input.sales ?? 200, input.rate ?? 5, step);
    socket.close();
    return summarize(samples, ownPeakRss(), peakRssOf(server.pid));
  } finally {
    server.kill("SIGTERM");
  }
}

workerMain<Input, unknown>(async (input) => {
  switch (input.mode) {
    case "generate":
      await buildBranch(input.dir, ["T1", "T2"]);
      return { ok: true };
    case "mercora":
      return measureMercora(input);
    case "pouch":
      return measurePouch(input);
    case "ws":
      return measureWebsocket(input);
  }
});

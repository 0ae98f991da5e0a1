import type { ServerResponse } from "node:http";
import { readAcked, recordId } from "@mercora/crdt-model";
import type { LedgerRecord } from "@mercora/crdt-model";
import type { RelayBranch } from "./branch.ts";
import type { Relay } from "./relay.ts";

/** Time that changes of a branch are gathered before one event goes out. */
const EVENT_DELAY_MS = 250;

/** Time between comment lines that keep idle connections open through proxies. */
const HEARTBEAT_MS = 15_000;

/** Records one event lists at most; a larger batch is summarized by the branch totals. */
const RECORDS_PER_EVENT = 200;

/** A record as the HQ feed lists it. */
export interface FeedRecord {
  id: string;
  branch: string;
  terminal: string;
  seq: number;
  kind: LedgerRecord["kind"];
  at: string;
  businessDay: string;
  total: number;
  offline: boolean;
  refundOf: string | null;
}

/** Reduces a record to what the HQ feed shows. */
export function feedRecord(record: LedgerRecord): FeedRecord {
  return {
    id: record.id,
    branch: record.branch,
    terminal: record.terminal,
    seq: record.seq,
    kind: record.kind,
    at: record.at,
    businessDay: record.businessDay,
    total: record.total,
    offline: record.offline,
    refundOf: record.refundOf,
  };
}

/**
 * Pushes branch changes to HQ dashboards as server-sent events. Each
 * `branch` event carries the branch summary and the records the relay
 * ingested since the last event, so a dashboard updates without
 * reloading. Changes are gathered for `EVENT_DELAY_MS`, so a burst of
 * records sends one event.
 */
export class HqEventHub {
  readonly #relay: Relay;
  readonly #clients = new Set<ServerResponse>();
  readonly #attached = new Set<string>();
  /** Acknowledgement marks already reported, per branch and terminal. */
  readonly #reported = new Map<string, Map<string, number>>();
  readonly #dirty = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(relay: Relay) {
    this.#relay = relay;
    const onPeer = ({ peerId }: { peerId: string }) => {
      const match = /^terminal:([^:]+):/.exec(peerId);
      if (match) this.#markDirty(match[1]!);
    };
    relay.repo.networkSubsystem.on("peer", onPeer);
    relay.repo.networkSubsystem.on("peer-disconnected", onPeer);
  }

  /** Number of open event streams. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Starts an event stream on a raw response; the stream stays open until the client leaves. */
  open(response: ServerResponse): void {
    this.#attachBranches();
    // The first stream starts from now: a dashboard loads the state before it with a plain request.
    if (this.#clients.size === 0) {
      for (const branch of this.#relay.branches.values()) this.#reported.set(branch.id, this.#marks(branch));
    }
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    response.write(`retry: 2000\n\n`);
    this.#send(response, "ready", { branches: [...this.#relay.branches.keys()].sort() });
    this.#clients.add(response);
    response.on("close", () => this.#clients.delete(response));
    this.#heartbeat ??= setInterval(() => {
      for (const client of this.#clients) client.write(`: keep-alive\n\n`);
    }, HEARTBEAT_MS);
  }

  /** Ends every stream, so the HTTP server can close. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  #attachBranches(): void {
    for (const branch of this.#relay.branches.values()) {
      if (this.#attached.has(branch.id)) continue;
      this.#attached.add(branch.id);
      this.#reported.set(branch.id, this.#marks(branch));
      const onChange = () => this.#markDirty(branch.id);
      branch.ingest.on("change", onChange);
      branch.conflicts.on("change", onChange);
      branch.directory.on("change", onChange);
    }
  }

  #marks(branch: RelayBranch): Map<string, number> {
    const ingest = branch.ingest.doc();
    return new Map(Object.keys(ingest.acked).map((terminal) => [terminal, readAcked(ingest, terminal)]));
  }

  #markDirty(branch: string): void {
    if (this.#closed || this.#clients.size === 0) return;
    this.#dirty.add(branch);
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      this.#flush();
    }, EVENT_DELAY_MS);
  }

  #flush(): void {
    this.#attachBranches();
    for (const id of this.#dirty) {
      const branch = this.#relay.branches.get(id);
      if (!branch) continue;
      const records = this.#newRecords(branch);
      const payload = { summary: branch.summary(this.#relay.contacts), records: records.slice(-RECORDS_PER_EVENT), more: Math.max(0, records.length - RECORDS_PER_EVENT) };
      for (const client of this.#clients) this.#send(client, "branch", payload);
    }
    this.#dirty.clear();
  }

  /** Records ingested since the marks last reported, oldest first. */
  #newRecords(branch: RelayBranch): FeedRecord[] {
    const before = this.#reported.get(branch.id) ?? new Map<string, number>();
    const now = this.#marks(branch);
    const records: FeedRecord[] = [];
    for (const [terminal, mark] of now) {
      for (let seq = (before.get(terminal) ?? 0) + 1; seq <= mark; seq++) {
        const record = branch.record(recordId(branch.id, terminal, seq));
        if (record) records.push(feedRecord(record));
      }
    }
    this.#reported.set(branch.id, now);
    return records.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }

  #send(client: ServerResponse, event: string, data: unknown): void {
    client.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}

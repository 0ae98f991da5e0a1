import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, sleep } from "./stats.ts";

const require = createRequire(import.meta.url);

/** The part of the PouchDB API the benches use (pouchdb-node ships no types). */
export interface PouchDatabase {
  put(doc: object): Promise<{ ok: boolean; id: string; rev: string }>;
  bulkDocs(docs: object[]): Promise<unknown[]>;
  get(id: string): Promise<Record<string, unknown>>;
  info(): Promise<{ doc_count: number; update_seq: number | string }>;
  close(): Promise<void>;
  changes(options: object): PouchChanges;
  replicate: { to(target: string | PouchDatabase, options?: object): PouchReplication };
}

export interface PouchChanges {
  on(event: "change", listener: (change: { id: string; seq: number | string; doc?: Record<string, unknown> }) => void): PouchChanges;
  on(event: "error" | "complete", listener: (value: unknown) => void): PouchChanges;
  cancel(): void;
}

export interface PouchReplication extends Promise<unknown> {
  on(event: string, listener: (value: unknown) => void): PouchReplication;
  cancel(): void;
}

type PouchConstructor = new (name: string, options?: object) => PouchDatabase;

export const PouchDB = require("pouchdb-node") as PouchConstructor;

type LeveldownFactory = (location: string) => LeveldownInstance;
interface LeveldownInstance {
  _put(key: unknown, value: unknown, options: Record<string, unknown>, callback: unknown): void;
  _del(key: unknown, options: Record<string, unknown>, callback: unknown): void;
  _batch(operations: unknown[], options: Record<string, unknown>, callback: unknown): void;
}

const leveldown = require("leveldown") as LeveldownFactory;

/**
 * Opens a leveldown that passes `sync: true` on every write, so LevelDB
 * fsyncs its log before a write completes. PouchDB 9 has no write-options
 * setting, but its LevelDB adapter takes a leveldown replacement as the `db` option.
 */
export function SyncLevelDown(location: string): LeveldownInstance {
  const db = leveldown(location);
  const put = db._put.bind(db);
  const del = db._del.bind(db);
  const batch = db._batch.bind(db);
  db._put = (key, value, options, callback) => put(key, value, { ...options, sync: true }, callback);
  db._del = (key, options, callback) => del(key, { ...options, sync: true }, callback);
  db._batch = (operations, options, callback) => batch(operations, { ...options, sync: true }, callback);
  return db;
}

/** Opens a PouchDB database on LevelDB whose every write is fsynced before it resolves. */
export function openDurablePouch(path: string): PouchDatabase {
  return new PouchDB(path, { db: SyncLevelDown });
}

export interface PouchServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `pouchdb-server` (LevelDB storage, default settings) as a child
 * process on 127.0.0.1 and waits until it responds to HTTP.
 */
export async function startPouchServer(dir: string, port: number): Promise<PouchServer> {
  await mkdir(dir, { recursive: true });
  const bin = join(ROOT, "node_modules", "pouchdb-server", "bin", "pouchdb-server");
  const child = spawn(process.execPath, [bin, "--host", "127.0.0.1", "--port", String(port), "--dir", dir, "--no-stdout-logs"], {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pouchdb-server exited with code ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`pouchdb-server on ${url} did not respond within 30 s: ${stderr}`);
    }
    await sleep(200);
  }
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

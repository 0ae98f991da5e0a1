import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeFlagsFor } from "../../bin/node-flags.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The `mercora` command's entry point. */
export const MERCORA_BIN = join(ROOT, "bin", "mercora.js");

/** A `mercora` process started by a test or the demo, with its log file and announced addresses. */
export interface MercoraProcess {
  name: string;
  child: ChildProcess;
  logPath: string;
  /** The fields of the process's "ready" log line (http, lan). */
  ready: { http: string; lan?: string | null };
  /** Sends SIGKILL and waits for the exit. */
  kill(): Promise<void>;
  /** Sends SIGTERM and waits for the exit, with SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Returns the `mercora` arguments (command and options) of a process that `startMercora` started. */
export function mercoraArgs(child: ChildProcess): string[] {
  return child.spawnargs.slice(child.spawnargs.indexOf(MERCORA_BIN) + 1);
}

/**
 * Starts `mercora ARGS` as a separate Node.js process, with `env` added to
 * this process's environment, writes its output to `logPath`, and resolves
 * once it logs "terminal ready", "relay ready" or "catalog editor ready".
 * Rejects with the end of its log when it exits first or `timeoutMs` passes.
 * `node` gets the Node.js flags the command needs (bin/node-flags.js), so
 * the child is the command's own process and not a launcher.
 */
export async function startMercora(
  name: string,
  args: string[],
  logPath: string,
  timeoutMs = 60_000,
  onSpawn?: (child: ChildProcess) => void,
  env: Record<string, string> = {},
): Promise<MercoraProcess> {
  await mkdir(dirname(logPath), { recursive: true });
  const log = createWriteStream(logPath, { flags: "a" });
  const child = spawn(process.execPath, [...nodeFlagsFor(args[0]), MERCORA_BIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  onSpawn?.(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let tail = "";
  const ready = await new Promise<MercoraProcess["ready"]>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not become ready within ${timeoutMs} ms; log ${logPath}:\n${tail.slice(-2000)}`));
    }, timeoutMs);
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.includes(" ready")) continue;
        try {
          const parsed = JSON.parse(line) as { msg?: string; http?: string; lan?: string | null };
          if ((parsed.msg === "terminal ready" || parsed.msg === "relay ready" || parsed.msg === "catalog editor ready") && parsed.http) {
            clearTimeout(timer);
            resolve({ http: parsed.http, lan: parsed.lan ?? null });
          }
        } catch {
          // Not a log line.
        }
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before it was ready; log ${logPath}:\n${tail.slice(-2000)}`));
    });
  });
  const waitExit = async (graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    name,
    child,
    logPath,
    ready,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await waitExit(5000);
      log.end();
    },
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await waitExit(graceMs);
      log.end();
    },
  };
}

const bearerByBase = new Map<string, string>();

/** Makes `api()` send `Authorization: Bearer TOKEN` on every request to `base` (the relay's HQ routes need it). */
export function setBearer(base: string, token: string): void {
  bearerByBase.set(base, token);
}

/** Sends a JSON request to a local Mercora API and returns the status and parsed body. */
export async function api<T = unknown>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; rawBody?: string; contentType?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  const bearer = bearerByBase.get(base);
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let body: string | undefined;
  if (init.rawBody !== undefined) {
    body = init.rawBody;
    headers["content-type"] = init.contentType ?? "application/json";
  } else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain-text responses stay as text.
  }
  return { status: response.status, body: parsed as T };
}

/** Polls `check` until it returns a value other than undefined or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

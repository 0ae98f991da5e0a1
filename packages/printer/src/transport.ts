import { constants } from "node:fs";
import { appendFile, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import net from "node:net";

/**
 * Destination of ESC/POS jobs: a network printer's raw TCP port (9100 by
 * convention, but always given), a printer device file such as
 * /dev/usb/lp0, or a plain file that collects the bytes.
 */
export type PrinterTarget =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "device"; path: string }
  | { kind: "file"; path: string };

/** Cause of a job not reaching the printer. */
export type PrinterFaultKind =
  /** Nothing listens at the address (ECONNREFUSED). */
  | "refused"
  /** No route or name for the host. */
  | "unreachable"
  /** The printer did not accept the job and close the connection within the timeout. */
  | "timeout"
  /** The printer closed or reset the connection before it took the whole job. */
  | "closed"
  /** A previous write to the same device is still blocked in the kernel. */
  | "busy"
  /** Opening or writing the device or file failed. */
  | "io";

/** A job that did not reach the printer, with the target it was meant for. */
export class PrinterFault extends Error {
  override readonly name = "PrinterFault";

  constructor(
    readonly kind: PrinterFaultKind,
    readonly target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${target}: ${message}`, options);
  }
}

export interface SendOptions {
  /** Maximum time for a TCP job, from connecting until the printer closes. Default 10,000 ms. */
  timeoutMs?: number;
  /** Aborts a TCP job in progress, e.g. when the terminal stops. */
  signal?: AbortSignal;
}

export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

/**
 * Parses a `--printer` value: "tcp://HOST:PORT", "device:PATH", "file:PATH",
 * or "none" (no printer, returned as null). Throws `RangeError` naming the
 * value and the accepted forms otherwise.
 */
export function parsePrinterTarget(value: string): PrinterTarget | null {
  if (value === "none") return null;
  const usage = 'Use tcp://HOST:PORT (network printers usually listen on 9100), device:PATH, file:PATH or none';
  if (value.startsWith("tcp://")) {
    const match = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]+):(\d{1,5})\/?$/u.exec(value);
    const port = Number(match?.[2]);
    if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Printer address ${JSON.stringify(value)} is invalid. ${usage}`);
    }
    return { kind: "tcp", host: match[1]!.replace(/^\[|\]$/gu, ""), port };
  }
  for (const kind of ["device", "file"] as const) {
    const prefix = `${kind}:`;
    if (value.startsWith(prefix)) {
      const path = value.slice(prefix.length);
      if (path === "") throw new RangeError(`Printer ${JSON.stringify(value)} has no path. ${usage}`);
      return { kind, path };
    }
  }
  throw new RangeError(`Printer ${JSON.stringify(value)} is invalid. ${usage}`);
}

/** Writes a target the way `parsePrinterTarget` reads it, for logs and the status endpoint. */
export function describePrinterTarget(target: PrinterTarget): string {
  if (target.kind === "tcp") {
    const host = target.host.includes(":") ? `[${target.host}]` : target.host;
    return `tcp://${host}:${target.port}`;
  }
  return `${target.kind}:${target.path}`;
}

const REFUSED = new Set(["ECONNREFUSED"]);
const UNREACHABLE = new Set(["EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EADDRNOTAVAIL"]);
const CLOSED = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

function tcpFault(error: NodeJS.ErrnoException, target: string): PrinterFault {
  const code = error.code ?? "";
  if (REFUSED.has(code)) return new PrinterFault("refused", target, `connection refused (${code})`, { cause: error });
  if (UNREACHABLE.has(code)) return new PrinterFault("unreachable", target, `host unreachable (${code})`, { cause: error });
  if (CLOSED.has(code)) {
    return new PrinterFault("closed", target, `printer closed the connection early (${code})`, { cause: error });
  }
  if (code === "ETIMEDOUT") return new PrinterFault("timeout", target, `connection timed out (${code})`, { cause: error });
  return new PrinterFault("io", target, `connection failed: ${error.message}`, { cause: error });
}

/**
 * Sends a job over raw TCP: connect, write every byte, half-close, then wait
 * for the printer to close its side, as CUPS's AppSocket backend
 * (backend/socket.c) does with its waiteof option, which defaults to on. Only that close counts as delivered, because raw TCP has no
 * acknowledgement of its own.
 * NOTE: a timeout after the bytes left can still mean the printer prints
 * them later, so a retry may print the receipt twice.
 */
function sendTcp(bytes: Uint8Array, target: { host: string; port: number }, options: SendOptions): Promise<void> {
  const name = describePrinterTarget({ kind: "tcp", ...target });
  const timeoutMs = options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  return new Promise<void>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new PrinterFault("io", name, "job aborted before it was sent"));
      return;
    }
    // allowHalfOpen keeps the socket writable when the printer closes first, so that case is seen.
    const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    let written = false;
    let settled = false;
    const finish = (fault: PrinterFault | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      if (fault) reject(fault);
      else resolve();
    };
    const onAbort = () => finish(new PrinterFault("io", name, "job aborted while it was being sent"));
    const timer = setTimeout(() => {
      const phase = written ? "did not close the connection after the job" : "did not take the job";
      finish(new PrinterFault("timeout", name, `printer ${phase} within ${timeoutMs} ms`));
    }, timeoutMs);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      socket.end(bytes, () => {
        written = true;
      });
    });
    // Status bytes that some printers send back are read and dropped, so the close can arrive.
    socket.on("data", () => undefined);
    socket.once("end", () => {
      if (written) finish(null);
      else finish(new PrinterFault("closed", name, "printer closed the connection before it took the whole job"));
    });
    socket.once("error", (error: NodeJS.ErrnoException) => finish(tcpFault(error, name)));
    socket.once("close", () => {
      if (written) finish(null);
      else finish(new PrinterFault("closed", name, "connection closed before the job was sent"));
    });
  });
}

/** Device files with a write still pending, so a blocked printer never gets a second writer. */
const pendingDeviceWrites = new Set<string>();

/**
 * Appends a job to a printer device file. The file is opened without
 * O_CREAT, so an unplugged printer is an error rather than a new regular
 * file at the device path.
 * NOTE: a write to a printer that is off or out of paper can block in the
 * kernel. It is not cancelled; later jobs fail as "busy" until it returns.
 */
async function sendToDevice(bytes: Uint8Array, path: string): Promise<void> {
  const name = describePrinterTarget({ kind: "device", path });
  if (pendingDeviceWrites.has(path)) {
    throw new PrinterFault("busy", name, "a previous write to the device has not returned yet");
  }
  pendingDeviceWrites.add(path);
  try {
    const handle = await open(path, constants.O_WRONLY | constants.O_APPEND);
    try {
      await handle.write(bytes);
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new PrinterFault("io", name, `write failed (${code || (error as Error).message})`, { cause: error });
  } finally {
    pendingDeviceWrites.delete(path);
  }
}

async function sendToFile(bytes: Uint8Array, path: string): Promise<void> {
  const name = describePrinterTarget({ kind: "file", path });
  try {
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new PrinterFault("io", name, `write failed (${code || (error as Error).message})`, { cause: error });
  }
}

/**
 * Sends one ESC/POS job to a printer target. Resolves once the job is
 * delivered, and rejects with a `PrinterFault` when the printer refuses the
 * connection, times out, closes early or a write fails.
 */
export async function sendToPrinter(bytes: Uint8Array, target: PrinterTarget, options: SendOptions = {}): Promise<void> {
  switch (target.kind) {
    case "tcp":
      return sendTcp(bytes, target, options);
    case "device":
      return sendToDevice(bytes, target.path);
    case "file":
      return sendToFile(bytes, target.path);
    default: {
      const unknown: never = target;
      throw new TypeError(`Printer target ${JSON.stringify(unknown)} is invalid. Use kind "tcp", "device" or "file"`);
    }
  }
}

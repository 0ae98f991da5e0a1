import { parseArgs } from "node:util";
import { pino } from "pino";
import { keepRunningOnLoadTimeouts } from "@mercora/crdt-model";
import { openOrActivate } from "./activation.ts";
import { DEFAULT_CONNECTIVITY } from "./connectivity.ts";
import { buildTerminalApi } from "./http.ts";
import { DEFAULT_FORWARD_AFTER_MS } from "./relay-share.ts";
import { OfflinePeriodPublisher } from "./offline-publisher.ts";
import type { LanPeer } from "./lan.ts";
import { printerSettingsFromFlags } from "./receipts.ts";
import { Terminal } from "./terminal.ts";
import { lowerHelperThreadPriority } from "./thread-priority.ts";

export const TERMINAL_USAGE = `Usage: mercora terminal --data DIR --branch ID --terminal ID [options]

Options:
  --data DIR            folder for this terminal's encrypted documents, keystore and write-ahead log (required)
  --branch ID           branch this terminal belongs to (required)
  --terminal ID         terminal id within the branch, e.g. T1 (required)
  --relay URL           relay base URL, e.g. http://127.0.0.1:7000 (default: none, LAN-only)
  --activation-code C   one-time code from HQ that activates this terminal on its first start
  --lan-listen H:P      address for LAN peers to dial (default: 127.0.0.1:0, a free port)
  --lan-advertise URL   websocket URL written to the branch directory (default: the listen URL)
  --lan-peer ID=URL     a LAN peer to dial; repeat for several
  --no-lan-discovery    dial only --lan-peer peers, not those in the branch directory
  --http H:P            address of the local HTTP API (default: 127.0.0.1:0)
  --check-interval MS   time between connection checks of the relay (default: ${DEFAULT_CONNECTIVITY.checkIntervalMs})
  --check-timeout MS    a connection check slower than this fails (default: ${DEFAULT_CONNECTIVITY.checkTimeoutMs})
  --retry MS            time between websocket reconnection attempts (default: ${DEFAULT_CONNECTIVITY.retryMs})
  --receipts KIND       file, stdout or none (default: file)
  --columns N           receipt width in characters: 32 (58 mm) or 48 (80 mm) (default: 48)
  --receipts-dir DIR    folder of text receipt files, outside the encrypted data folder
                        (default: the data folder's path followed by "-receipts")
  --printer TARGET      ESC/POS printer that receipts go to instead of --receipts: tcp://HOST:PORT
                        (network printers usually listen on 9100), device:PATH (e.g. /dev/usb/lp0),
                        file:PATH or none (default: none)
  --printer-width MM    printer paper width in millimetres: 58 (32 columns) or 80 (48 columns) (default: 80)
  --printer-code-page P printer code page: cp850 or windows1252 (default: cp850)
  --bootstrap-timeout MS  how long a first start waits for the branch documents (default: 60000)
  --clock-skew-threshold MS  a device clock further than this from the store's time raises a
                        clock-skew conflict (default: 120000)
  --forward-after MS    send a peer's records to the relay when this terminal holds records of it that
                        the relay has not acknowledged for MS while the peer reports an outage, or six
                        times as long otherwise (default: 10000)
  --clock-offset MS     add MS (may be negative) to this device's clock, to rehearse a wrong clock
                        (default: 0)
  --log-level LEVEL     pino level: debug, info, warn, error (default: info)
`;

function parseAddress(value: string, flag: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(value);
  if (!match) throw new Error(`${flag} must be HOST:PORT, got "${value}"`);
  return { host: match[1]!, port: Number(match[2]) };
}

function parsePeer(value: string): LanPeer {
  const index = value.indexOf("=");
  if (index <= 0 || !/^wss?:\/\//.test(value.slice(index + 1))) {
    throw new Error(`--lan-peer must be ID=ws://HOST:PORT, got "${value}"`);
  }
  return { id: value.slice(0, index), url: value.slice(index + 1) };
}

function parseMs(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`${flag} must be a positive number of milliseconds, got "${value}"`);
  return ms;
}

function parseOffset(value: string | undefined): number {
  if (value === undefined) return 0;
  const ms = Number(value);
  if (!Number.isSafeInteger(ms)) throw new Error(`--clock-offset must be a whole number of milliseconds, got "${value}"`);
  return ms;
}

/** Runs `mercora terminal`: starts a terminal and its HTTP API until SIGINT or SIGTERM. */
export async function runTerminalCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: "string" },
      branch: { type: "string" },
      terminal: { type: "string" },
      relay: { type: "string" },
      "activation-code": { type: "string" },
      "lan-listen": { type: "string" },
      "lan-advertise": { type: "string" },
      "lan-peer": { type: "string", multiple: true },
      "no-lan-discovery": { type: "boolean" },
      http: { type: "string" },
      "check-interval": { type: "string" },
      "check-timeout": { type: "string" },
      retry: { type: "string" },
      receipts: { type: "string" },
      "receipts-dir": { type: "string" },
      columns: { type: "string" },
      printer: { type: "string" },
      "printer-width": { type: "string" },
      "printer-code-page": { type: "string" },
      "bootstrap-timeout": { type: "string" },
      "clock-skew-threshold": { type: "string" },
      "forward-after": { type: "string" },
      "clock-offset": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(TERMINAL_USAGE);
    return;
  }
  for (const flag of ["data", "branch", "terminal"] as const) {
    if (!values[flag]) throw new Error(`--${flag} is required\n\n${TERMINAL_USAGE}`);
  }
  const receipts = values.receipts ?? "file";
  if (receipts !== "file" && receipts !== "stdout" && receipts !== "none") {
    throw new Error(`--receipts must be file, stdout or none, got "${receipts}"`);
  }
  const columns = Number(values.columns ?? 48);
  if (columns !== 32 && columns !== 48) throw new Error(`--columns must be 32 or 48, got "${values.columns}"`);
  const printer = printerSettingsFromFlags({
    printer: values.printer,
    width: values["printer-width"],
    codePage: values["printer-code-page"],
  });
  const log = pino({ level: values["log-level"] ?? "info", base: { terminal: values.terminal, branch: values.branch } });
  keepRunningOnLoadTimeouts(log);
  const { keystore, state } = await openOrActivate({
    dataDir: values.data!,
    branch: values.branch!,
    terminal: values.terminal!,
    relayUrl: values.relay?.replace(/\/$/, "") ?? null,
    activationCode: values["activation-code"] ?? null,
    log,
  });
  const terminal = new Terminal({
    dataDir: values.data!,
    branch: values.branch!,
    terminal: values.terminal!,
    relayUrl: values.relay?.replace(/\/$/, "") ?? null,
    keystore,
    activated: state,
    lanListen: parseAddress(values["lan-listen"] ?? "127.0.0.1:0", "--lan-listen"),
    lanAdvertise: values["lan-advertise"] ?? null,
    lanPeers: (values["lan-peer"] ?? []).map(parsePeer),
    lanDiscovery: !values["no-lan-discovery"],
    connectivity: {
      checkIntervalMs: parseMs(values["check-interval"], DEFAULT_CONNECTIVITY.checkIntervalMs, "--check-interval"),
      checkTimeoutMs: parseMs(values["check-timeout"], DEFAULT_CONNECTIVITY.checkTimeoutMs, "--check-timeout"),
      retryMs: parseMs(values.retry, DEFAULT_CONNECTIVITY.retryMs, "--retry"),
    },
    receipts: {
      target: receipts,
      columns,
      locale: "es-419",
      printer,
      textFolder: values["receipts-dir"] ?? `${values.data!.replace(/\/+$/, "")}-receipts`,
    },
    bootstrapTimeoutMs: parseMs(values["bootstrap-timeout"], 60_000, "--bootstrap-timeout"),
    clockSkewThresholdMs: parseMs(values["clock-skew-threshold"], 120_000, "--clock-skew-threshold"),
    clockOffsetMs: parseOffset(values["clock-offset"]),
    forwardAfterMs: parseMs(values["forward-after"], DEFAULT_FORWARD_AFTER_MS, "--forward-after"),
    log,
  });
  await terminal.start();
  // After start, so the thread pool and V8's workers exist.
  const priority = lowerHelperThreadPriority();
  if (priority.failed.length > 0) log.warn({ ...priority }, "lowering the priority of some helper threads failed; sales may wait longer for a core");
  else if (priority.nice === null) log.info("helper threads keep their priority: no per-thread priority on this system");
  else log.debug({ ...priority }, "helper threads' priority lowered");
  const offlinePeriods = new OfflinePeriodPublisher(terminal);
  await offlinePeriods.start();
  const api = buildTerminalApi(terminal);
  const http = parseAddress(values.http ?? "127.0.0.1:0", "--http");
  const address = await api.listen({ host: http.host, port: http.port });
  // One machine-readable line that scripts wait for.
  log.info({ http: address, lan: terminal.lan.listenUrl }, "terminal ready");
  const shutdown = async (signal: string) => {
    log.info({ signal }, "terminal stopping");
    await api.close();
    offlinePeriods.stop();
    await terminal.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

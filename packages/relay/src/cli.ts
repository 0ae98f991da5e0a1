import { parseArgs } from "node:util";
import { pino } from "pino";
import { keepRunningOnLoadTimeouts } from "@mercora/crdt-model";
import { buildRelayApi } from "./http.ts";
import { Relay } from "./relay.ts";

export const RELAY_USAGE = `Usage: mercora relay --data DIR [options]

Options:
  --data DIR         folder for the relay's documents and state (required)
  --listen H:P       address of the HTTP API and the /sync websocket (default: 127.0.0.1:7000)
  --log-level LEVEL  pino level: debug, info, warn, error (default: info)
`;

/** Runs `mercora relay` until SIGINT or SIGTERM. */
export async function runRelayCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: "string" },
      listen: { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(RELAY_USAGE);
    return;
  }
  if (!values.data) throw new Error(`--data is required\n\n${RELAY_USAGE}`);
  const listen = values.listen ?? "127.0.0.1:7000";
  const match = /^(.+):(\d+)$/.exec(listen);
  if (!match) throw new Error(`--listen must be HOST:PORT, got "${listen}"`);
  const log = pino({ level: values["log-level"] ?? "info", base: { component: "relay" } });
  keepRunningOnLoadTimeouts(log);
  const keystore = await Relay.openKeystore(values.data);
  const relay = new Relay({ dataDir: values.data, log, keystore, storageKey: keystore.storageKey });
  await relay.start();
  const api = buildRelayApi(relay);
  const address = await api.listen({ host: match[1]!, port: Number(match[2]) });
  log.info({ http: address }, "relay ready");
  const shutdown = async (signal: string) => {
    log.info({ signal }, "relay stopping");
    // Close the sync websockets first: the HTTP server waits for open connections.
    await relay.stop();
    await api.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

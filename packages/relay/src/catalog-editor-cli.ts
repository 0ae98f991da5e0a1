import { parseArgs } from "node:util";
import { pino } from "pino";
import type { Logger } from "pino";
import { parsePriceToMinorUnits } from "@mercora/crdt-model";
import { buildCatalogEditorApi } from "./catalog-editor-api.ts";
import { CatalogEditor } from "./catalog-editor.ts";
import { enrollCatalogEditor } from "./catalog-editor-enrollment.ts";

export const CATALOG_EDITOR_USAGE = `Usage: mercora catalog-editor <command> --data DIR [options]

An HQ catalog editor keeps its own encrypted replica of the corporate catalog
in DIR, edits it with or without the relay, and syncs with the relay when it
is reachable.

Commands:
  enroll     enroll this device for an HQ user and fetch the catalog
             --relay URL --user ID --code CODE (from POST /api/hq/catalog/editors)
  serve      run the editor with a local HTTP API until SIGINT or SIGTERM
             [--http H:P] (default: 127.0.0.1:0)
  edit       edit one product on the local replica, then sync for a while
             --sku SKU and any of --price DECIMAL (e.g. 264.99, in the catalog's
             currency) --name TEXT --active true|false --stock-buffer UNITS
             --tax-code CODE; [--sync-timeout SECONDS] (default: 10)
  sync       connect and wait until the relay has this replica's catalog
             [--timeout SECONDS] (default: 30)
  show       print one product, its edit stamps and concurrent values: --sku SKU
  conflicts  print the fields that have concurrent values in this replica

Options of every command:
  --data DIR           the editor's data folder (required)
  --relay URL          relay base URL (default: the one used at enrollment)
  --retry MS           time between websocket reconnection attempts (default: 1000)
  --check-interval MS  time between checks of the relay's /health (default: 2000)
  --log-level LEVEL    pino level: debug, info, warn, error (default: info for serve, warn otherwise)
`;

const OPTIONS = {
  data: { type: "string" },
  relay: { type: "string" },
  user: { type: "string" },
  code: { type: "string" },
  http: { type: "string" },
  sku: { type: "string" },
  price: { type: "string" },
  name: { type: "string" },
  active: { type: "string" },
  "stock-buffer": { type: "string" },
  "tax-code": { type: "string" },
  "sync-timeout": { type: "string" },
  timeout: { type: "string" },
  retry: { type: "string" },
  "check-interval": { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** Runs `mercora catalog-editor <command>`. */
export async function runCatalogEditorCli(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  const command = positionals[0];
  if (values.help || command === undefined) {
    process.stdout.write(CATALOG_EDITOR_USAGE);
    return;
  }
  if (!values.data) throw new Error(`--data is required\n\n${CATALOG_EDITOR_USAGE}`);
  // A one-shot command prints its result on standard output, so its log goes to standard error.
  const serving = command === "serve";
  const log = pino({ level: values["log-level"] ?? (serving ? "info" : "warn"), base: { component: "catalog-editor" } }, serving ? process.stdout : process.stderr);
  if (command === "enroll") return finish(await enroll(values, log));
  if (command === "serve") return serve(values, log);
  const editor = await CatalogEditor.open({ ...editorOptions(values, log), connect: command === "edit" || command === "sync" });
  try {
    await editor.start();
    if (command === "edit") return finish(await edit(editor, values));
    if (command === "sync") return finish(await sync(editor, values));
    if (command === "show") return finish(editor.product(required(values.sku, "--sku")));
    if (command === "conflicts") return finish(editor.conflicts());
    throw new Error(`Unknown catalog-editor command "${command}"\n\n${CATALOG_EDITOR_USAGE}`);
  } finally {
    await editor.stop();
  }
}

function editorOptions(values: Values, log: Logger) {
  return {
    dataDir: values.data!,
    relayUrl: values.relay ?? null,
    log,
    retryMs: parsePositive(values.retry, 1000, "--retry"),
    checkIntervalMs: parsePositive(values["check-interval"], 2000, "--check-interval"),
  };
}

async function enroll(values: Values, log: Logger) {
  const relayUrl = required(values.relay, "--relay").replace(/\/$/, "");
  const { state } = await enrollCatalogEditor({
    dataDir: values.data!,
    relayUrl,
    user: required(values.user, "--user"),
    code: required(values.code, "--code"),
    log,
  });
  const editor = await CatalogEditor.open(editorOptions(values, log));
  try {
    await editor.start();
    return { enrolled: state.user, name: state.name, peerId: editor.peerId, catalogUrl: state.catalogUrl, products: editor.productCount() };
  } finally {
    await editor.stop();
  }
}

async function serve(values: Values, log: Logger): Promise<void> {
  const editor = await CatalogEditor.open(editorOptions(values, log));
  await editor.start();
  const api = buildCatalogEditorApi(editor);
  const match = /^(.+):(\d+)$/.exec(values.http ?? "127.0.0.1:0");
  if (!match) throw new Error(`--http must be HOST:PORT, got "${values.http}"`);
  const address = await api.listen({ host: match[1]!, port: Number(match[2]) });
  // One machine-readable line that scripts wait for.
  log.info({ http: address, user: editor.state.user }, "catalog editor ready");
  const shutdown = async (signal: string) => {
    log.info({ signal }, "catalog editor stopping");
    await api.close();
    await editor.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

async function edit(editor: CatalogEditor, values: Values) {
  const sku = required(values.sku, "--sku");
  const fields: Record<string, unknown> = {};
  if (values.price !== undefined) {
    const price = parsePriceToMinorUnits(values.price.trim(), editor.currency().minorUnitDigits);
    if (typeof price !== "number") throw new Error(`--price ${price.problem}`);
    fields.price = price;
  }
  if (values.name !== undefined) fields.name = values.name;
  if (values.active !== undefined) {
    if (values.active !== "true" && values.active !== "false") throw new Error(`--active must be true or false, got "${values.active}"`);
    fields.active = values.active === "true";
  }
  if (values["stock-buffer"] !== undefined) {
    if (!/^\d+$/.test(values["stock-buffer"])) throw new Error(`--stock-buffer must be a whole number of units, got "${values["stock-buffer"]}"`);
    fields.stockBuffer = Number(values["stock-buffer"]);
  }
  if (values["tax-code"] !== undefined) fields.taxCode = values["tax-code"];
  const result = await editor.edit(sku, fields);
  const timeoutSeconds = parsePositive(values["sync-timeout"], 10, "--sync-timeout");
  const synced = await editor.waitForSync(timeoutSeconds * 1000);
  if (!synced) {
    process.stderr.write(
      `Saved on this device; the relay at ${editor.status().relayUrl} did not take it within ${timeoutSeconds} s. ` +
        `Run "mercora catalog-editor sync --data ${values.data}" when it is reachable.\n`,
    );
  }
  return { ...result, synced };
}

async function sync(editor: CatalogEditor, values: Values) {
  const timeoutSeconds = parsePositive(values.timeout, 30, "--timeout");
  const synced = await editor.waitForSync(timeoutSeconds * 1000);
  if (!synced) {
    process.exitCode = 1;
    process.stderr.write(`The relay at ${editor.status().relayUrl} did not sync within ${timeoutSeconds} s; check that it is reachable.\n`);
  }
  return { synced, conflicts: editor.conflicts() };
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new Error(`${flag} is required\n\n${CATALOG_EDITOR_USAGE}`);
  return value;
}

function parsePositive(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new Error(`${flag} must be a positive whole number, got "${value}"`);
  return number;
}

/** Prints a command's result as JSON and waits until it is written, so an exit cannot cut it short. */
async function finish(result: unknown): Promise<void> {
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`, () => resolve()));
}

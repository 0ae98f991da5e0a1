import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { LinkProxy } from "../../scripts/lib/link-proxy.ts";
import { api, startMercora } from "../../scripts/lib/processes.ts";
import type { MercoraProcess } from "../../scripts/lib/processes.ts";
import type { StoreHarness } from "../../scripts/lib/store.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "mercora.js");

/** A catalog editor process with its own link to the relay, which a test can cut like a laptop's internet. */
export interface EditorHandle {
  user: string;
  dataDir: string;
  link: LinkProxy;
  /** Relay URL through the editor's link. */
  relayUrl: string;
  process: MercoraProcess | null;
  /** Base URL of the editor's local HTTP API while `process` runs. */
  http: string;
  /** The catalog's URL, as the enrollment returned it. */
  catalogUrl: string;
}

/** Runs `mercora catalog-editor ARGS` to completion and returns its exit code and output. */
export async function runEditorCommand(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, "catalog-editor", ...args], { timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/**
 * Enrolls a catalog editor for an HQ user: HQ creates the code, and the
 * `enroll` command, run as its own process through a new link to the
 * relay, makes the device key and fetches the catalog.
 */
export async function enrollEditor(store: StoreHarness, root: string, user: string, name: string): Promise<EditorHandle> {
  const relayPort = Number(new URL(store.relayUrl).port);
  const link = new LinkProxy(`editor ${user}`, { host: "127.0.0.1", port: relayPort });
  const port = await link.open();
  const relayUrl = `http://127.0.0.1:${port}`;
  const enrollment = await api<{ code: string }>(store.relayUrl, "/api/hq/catalog/editors", { body: { user, name } });
  if (enrollment.status !== 201) throw new Error(`Enrollment of editor ${user} failed: ${JSON.stringify(enrollment.body)}`);
  const dataDir = join(root, "editors", user);
  const enrolled = await runEditorCommand(["enroll", "--data", dataDir, "--relay", relayUrl, "--user", user, "--code", enrollment.body.code]);
  if (enrolled.code !== 0) throw new Error(`catalog-editor enroll for ${user} failed: ${enrolled.stderr}`);
  const { catalogUrl } = JSON.parse(enrolled.stdout) as { catalogUrl: string };
  return { user, dataDir, link, relayUrl, process: null, http: "", catalogUrl };
}

/** Starts `mercora catalog-editor serve` for an enrolled editor, with fast reconnection as tests need. */
export async function serveEditor(editor: EditorHandle, root: string): Promise<EditorHandle> {
  editor.process = await startMercora(
    `catalog editor ${editor.user}`,
    ["catalog-editor", "serve", "--data", editor.dataDir, "--relay", editor.relayUrl, "--retry", "250", "--check-interval", "300"],
    join(root, "logs", `editor-${editor.user}.log`),
  );
  editor.http = editor.process.ready.http;
  return editor;
}

export async function stopEditor(editor: EditorHandle): Promise<void> {
  await editor.process?.stop(3000);
  editor.process = null;
  await editor.link.cut();
}

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Keystore, encodePublicKey, readJsonFile, writeJsonDurable } from "@mercora/crdt-model";
import type { Logger } from "pino";

/** State of an enrolled catalog editor, kept in `editor.json` and sealed with its storage key. */
export interface CatalogEditorState {
  /** HQ user id the device was enrolled for; its peer id is `hq:USER`. */
  user: string;
  name: string;
  relayUrl: string;
  catalogUrl: string;
  enrolledAt: string;
}

const STATE_FILE = "editor.json";

/**
 * Enrolls a catalog editor device: creates its keystore (storage key and
 * Ed25519 device key) in `dataDir`, registers the public key with the relay
 * using HQ's one-time code, and records the enrolled user and the catalog's
 * URL. The catalog itself is fetched on the editor's first start.
 */
export async function enrollCatalogEditor(options: {
  dataDir: string;
  relayUrl: string;
  user: string;
  code: string;
  log: Logger;
}): Promise<{ keystore: Keystore; state: CatalogEditorState }> {
  const keystoreDir = join(options.dataDir, "keystore");
  await mkdir(options.dataDir, { recursive: true });
  const keystore = await Keystore.open(keystoreDir, { create: true });
  const existing = await readJsonFile<CatalogEditorState>(join(options.dataDir, STATE_FILE), keystore.storageKey);
  if (existing) {
    throw new Error(`Data folder ${options.dataDir} is already enrolled for HQ user ${existing.user}; use another --data folder`);
  }
  const deviceKey = (await keystore.deviceKey()) ?? (await keystore.createDeviceKey());
  const response = await fetch(`${options.relayUrl}/api/catalog-editors/activate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: options.user, code: options.code, publicKey: encodePublicKey(deviceKey) }),
    signal: AbortSignal.timeout(15_000),
  }).catch((error: Error) => {
    throw new Error(`Could not reach the relay at ${options.relayUrl} to enroll: ${error.message}`);
  });
  const body = (await response.json().catch(() => ({}))) as { user?: string; name?: string; catalogUrl?: string; message?: string };
  if (!response.ok || !body.catalogUrl || !body.user) {
    throw new Error(`Enrollment rejected by the relay (HTTP ${response.status}): ${body.message ?? "no reason given"}`);
  }
  const state: CatalogEditorState = {
    user: body.user,
    name: body.name ?? body.user,
    relayUrl: options.relayUrl,
    catalogUrl: body.catalogUrl,
    enrolledAt: new Date().toISOString(),
  };
  await writeJsonDurable(join(options.dataDir, STATE_FILE), state, keystore.storageKey);
  options.log.info({ user: state.user }, "catalog editor enrolled");
  return { keystore, state };
}

/** Opens an enrolled editor's keystore and state, or explains how to enroll. */
export async function openEnrolledEditor(dataDir: string): Promise<{ keystore: Keystore; state: CatalogEditorState }> {
  let keystore: Keystore;
  try {
    keystore = await Keystore.open(join(dataDir, "keystore"), { create: false });
  } catch {
    throw new Error(
      `Data folder ${dataDir} contains no enrolled catalog editor; run "mercora catalog-editor enroll --data ${dataDir} ` +
        "--relay URL --user ID --code CODE\" with a code from POST /api/hq/catalog/editors",
    );
  }
  const state = await readJsonFile<CatalogEditorState>(join(dataDir, STATE_FILE), keystore.storageKey);
  if (!state) throw new Error(`Data folder ${dataDir} has a keystore but no ${STATE_FILE}; enroll the editor again in a new folder`);
  return { keystore, state };
}

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Keystore, encodePublicKey, readJsonFile, writeJsonDurable } from "@mercora/crdt-model";
import type { Logger } from "pino";

/** What `terminal.json` holds once a terminal is activated. */
export interface ActivatedState {
  branch: string;
  terminal: string;
  directoryUrl: string;
  activatedAt: string;
  ledgers: { documentId: string; url: string; businessDay: string; part: number; firstSeq: number }[];
}

/**
 * Opens an activated terminal's keystore, or activates the terminal: makes
 * its storage key and Ed25519 device key, registers the public key with
 * the relay using HQ's one-time activation code, and records the branch
 * directory it gets back. From then on the terminal starts without the
 * relay.
 */
export async function openOrActivate(options: {
  dataDir: string;
  branch: string;
  terminal: string;
  relayUrl: string | null;
  activationCode: string | null;
  log: Logger;
}): Promise<{ keystore: Keystore; state: ActivatedState }> {
  const statePath = join(options.dataDir, "terminal.json");
  const keystoreDir = join(options.dataDir, "keystore");
  const saved = await readJsonFile<ActivatedState>(statePath);
  if (saved) {
    if (saved.branch !== options.branch || saved.terminal !== options.terminal) {
      throw new Error(
        `Data folder ${options.dataDir} belongs to terminal ${saved.terminal} of branch ${saved.branch}, ` +
          `not ${options.terminal} of ${options.branch}; use another --data folder`,
      );
    }
    const keystore = await Keystore.open(keystoreDir, { create: false });
    if (!(await keystore.deviceKey())) throw new Error(`Keystore ${keystoreDir} has no device key; activate the terminal again`);
    return { keystore, state: saved };
  }
  if (!options.activationCode || !options.relayUrl) {
    throw new Error(
      `Terminal ${options.branch}/${options.terminal} is not activated; start it once with --relay URL and ` +
        "--activation-code CODE (HQ creates the code with POST /api/hq/branches/BRANCH/enrollments)",
    );
  }
  await mkdir(options.dataDir, { recursive: true });
  const keystore = await Keystore.open(keystoreDir, { create: true });
  const deviceKey = (await keystore.deviceKey()) ?? (await keystore.createDeviceKey());
  const response = await fetch(`${options.relayUrl}/api/activate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      branch: options.branch,
      terminal: options.terminal,
      code: options.activationCode,
      publicKey: encodePublicKey(deviceKey),
    }),
    signal: AbortSignal.timeout(15_000),
  }).catch((error: Error) => {
    throw new Error(`Could not reach the relay at ${options.relayUrl} to activate: ${error.message}`);
  });
  const body = (await response.json().catch(() => ({}))) as { directoryUrl?: string; message?: string };
  if (!response.ok || !body.directoryUrl) {
    throw new Error(`Activation refused by the relay (HTTP ${response.status}): ${body.message ?? "no reason given"}`);
  }
  const state: ActivatedState = {
    branch: options.branch,
    terminal: options.terminal,
    directoryUrl: body.directoryUrl,
    activatedAt: new Date().toISOString(),
    ledgers: [],
  };
  await writeJsonDurable(statePath, state);
  options.log.info({ branch: options.branch, terminal: options.terminal }, "terminal activated");
  return { keystore, state };
}

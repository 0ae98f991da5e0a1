import { randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { signBytes, verifySignature } from "./keystore.ts";

/** Fields of a device token: who connects, as which peer id, and when. */
export interface DeviceTokenClaims {
  branch: string;
  terminal: string;
  peerId: string;
  /** Milliseconds since the epoch, by the store's corrected clock. */
  issuedAt: number;
  nonce: string;
}

/** How far a token's time may be from the verifier's clock. */
export const TOKEN_WINDOW_MS = 5 * 60_000;

/**
 * Makes a short-lived token signed by the device key: base64url of the
 * claims as JSON, a dot, and the base64url Ed25519 signature. Terminals put
 * it in the websocket URL, because the automerge-repo websocket client
 * cannot set headers.
 */
export function makeDeviceToken(deviceKey: KeyObject, claims: Omit<DeviceTokenClaims, "nonce">): string {
  const body = Buffer.from(JSON.stringify({ ...claims, nonce: randomBytes(12).toString("base64url") })).toString("base64url");
  const signature = Buffer.from(signBytes(deviceKey, body), "base64").toString("base64url");
  return `${body}.${signature}`;
}

/**
 * Checks a device token: well formed, signed by the key `publicKeyOf`
 * returns for its terminal, within `windowMs` of `now` (null skips the
 * time check, for a verifier whose own clock is not known to be right),
 * and not seen before (`seen` keeps nonces for twice the default window).
 * Returns the claims or the reason it was rejected.
 */
export function verifyDeviceToken(
  token: string,
  publicKeyOf: (branch: string, terminal: string) => KeyObject | null | "revoked",
  now: number,
  seen: Map<string, number>,
  windowMs: number | null = TOKEN_WINDOW_MS,
): { claims: DeviceTokenClaims } | { reason: string; claims?: DeviceTokenClaims } {
  const [body, signature] = token.split(".");
  if (!body || !signature) return { reason: "token is not CLAIMS.SIGNATURE" };
  let claims: DeviceTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as DeviceTokenClaims;
  } catch {
    return { reason: "token claims are not JSON" };
  }
  if (typeof claims.branch !== "string" || typeof claims.terminal !== "string" || typeof claims.peerId !== "string") {
    return { reason: "token claims lack branch, terminal or peer id" };
  }
  const key = publicKeyOf(claims.branch, claims.terminal);
  if (key === "revoked") return { reason: `device ${claims.branch}/${claims.terminal} is revoked`, claims };
  if (!key) return { reason: `no activated device ${claims.branch}/${claims.terminal}`, claims };
  if (!verifySignature(key, body, Buffer.from(signature, "base64url").toString("base64"))) {
    return { reason: `token signature does not match device ${claims.branch}/${claims.terminal}`, claims };
  }
  if (claims.peerId !== `terminal:${claims.branch}:${claims.terminal}`) {
    return { reason: `peer id ${claims.peerId} is not the device's own`, claims };
  }
  if (typeof claims.issuedAt !== "number") return { reason: "token has no time", claims };
  if (windowMs !== null && Math.abs(now - claims.issuedAt) > windowMs) {
    return { reason: `token time is more than ${windowMs / 60_000} min from the verifier's clock`, claims };
  }
  // Nonces are kept in the order they were seen, so pruning stops at the first one still in the window.
  for (const [nonce, at] of seen) {
    if (now - at <= 2 * TOKEN_WINDOW_MS) break;
    seen.delete(nonce);
  }
  if (seen.has(claims.nonce)) return { reason: "token was already used", claims };
  seen.set(claims.nonce, now);
  return { claims };
}

import { randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { TOKEN_WINDOW_MS } from "./device-token.ts";
import { signBytes, verifySignature } from "./keystore.ts";

/** Marks a token as a catalog editor's, so the relay distinguishes it from a terminal's device token. */
export const EDITOR_TOKEN_KIND = "catalog-editor";

/** Fields of a catalog editor's token: which HQ user's device connects, and when. */
export interface EditorTokenClaims {
  kind: typeof EDITOR_TOKEN_KIND;
  /** HQ user id the editor device was enrolled for. */
  editor: string;
  /** Always `hq:EDITOR`. */
  peerId: string;
  /** Milliseconds since the epoch, by the editor's clock corrected with the relay's. */
  issuedAt: number;
  nonce: string;
}

/** Peer id of a catalog editor on the sync network. */
export function editorPeerId(editor: string): string {
  return `hq:${editor}`;
}

/**
 * Makes a short-lived token signed by the editor's device key, in the form
 * of a terminal's device token: base64url JSON claims, a dot, and the
 * base64url Ed25519 signature.
 */
export function makeEditorToken(deviceKey: KeyObject, claims: { editor: string; issuedAt: number }): string {
  const full: EditorTokenClaims = {
    kind: EDITOR_TOKEN_KIND,
    editor: claims.editor,
    peerId: editorPeerId(claims.editor),
    issuedAt: claims.issuedAt,
    nonce: randomBytes(12).toString("base64url"),
  };
  const body = Buffer.from(JSON.stringify(full)).toString("base64url");
  const signature = Buffer.from(signBytes(deviceKey, body), "base64").toString("base64url");
  return `${body}.${signature}`;
}

/** Tells whether a token claims to be a catalog editor's, without checking it. */
export function isEditorToken(token: string): boolean {
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8")) as { kind?: unknown };
    return claims?.kind === EDITOR_TOKEN_KIND;
  } catch {
    return false;
  }
}

/**
 * Checks a catalog editor's token: well formed, signed by the key that
 * `publicKeyOf` returns for its editor, bound to that editor's peer id,
 * within `windowMs` of `now`, and not seen before (`seen` keeps nonces for
 * twice the default window). Returns the claims or the reason it failed.
 */
export function verifyEditorToken(
  token: string,
  publicKeyOf: (editor: string) => KeyObject | null | "revoked",
  now: number,
  seen: Map<string, number>,
  windowMs: number = TOKEN_WINDOW_MS,
): { claims: EditorTokenClaims } | { reason: string; claims?: EditorTokenClaims } {
  const [body, signature] = token.split(".");
  if (!body || !signature) return { reason: "token is not CLAIMS.SIGNATURE" };
  let claims: EditorTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as EditorTokenClaims;
  } catch {
    return { reason: "token claims are not JSON" };
  }
  if (claims.kind !== EDITOR_TOKEN_KIND || typeof claims.editor !== "string" || typeof claims.peerId !== "string") {
    return { reason: "token claims lack the catalog editor or its peer id" };
  }
  const key = publicKeyOf(claims.editor);
  if (key === "revoked") return { reason: `catalog editor ${claims.editor} is revoked`, claims };
  if (!key) return { reason: `no enrolled catalog editor ${claims.editor}`, claims };
  if (!verifySignature(key, body, Buffer.from(signature, "base64url").toString("base64"))) {
    return { reason: `token signature does not match catalog editor ${claims.editor}`, claims };
  }
  if (claims.peerId !== editorPeerId(claims.editor)) return { reason: `peer id ${claims.peerId} is not the editor's own`, claims };
  if (typeof claims.issuedAt !== "number") return { reason: "token has no time", claims };
  if (Math.abs(now - claims.issuedAt) > windowMs) {
    return { reason: `token time is more than ${windowMs / 60_000} min from the relay's clock`, claims };
  }
  for (const [nonce, at] of seen) if (now - at > 2 * TOKEN_WINDOW_MS) seen.delete(nonce);
  if (seen.has(claims.nonce)) return { reason: "token was already used", claims };
  seen.set(claims.nonce, now);
  return { claims };
}

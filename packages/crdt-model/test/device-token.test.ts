import { generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import { TOKEN_WINDOW_MS, makeDeviceToken, verifyDeviceToken } from "../src/device-token.ts";
import { decodePublicKey, encodePublicKey } from "../src/keystore.ts";

describe("device tokens", function () {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const claims = { branch: "S1", terminal: "T1", peerId: "terminal:S1:T1" };
  const keyOf = () => decodePublicKey(encodePublicKey(publicKey));

  it("accepts a token once and refuses it again", function () {
    const seen = new Map<string, number>();
    const now = Date.now();
    const token = makeDeviceToken(privateKey, { ...claims, issuedAt: now });
    expect(verifyDeviceToken(token, keyOf, now, seen)).to.have.property("claims");
    expect(verifyDeviceToken(token, keyOf, now + 1000, seen)).to.deep.include({ reason: "token was already used" });
  });

  it("forgets nonces older than twice the window and keeps the newer ones", function () {
    const seen = new Map<string, number>();
    const start = Date.now();
    const old = makeDeviceToken(privateKey, { ...claims, issuedAt: start });
    verifyDeviceToken(old, keyOf, start, seen);
    const later = start + TOKEN_WINDOW_MS;
    const recent = makeDeviceToken(privateKey, { ...claims, issuedAt: later });
    verifyDeviceToken(recent, keyOf, later, seen);
    expect(seen.size).to.equal(2);

    // Past twice the window of the first nonce, a new token prunes it and only it.
    const now = start + 2 * TOKEN_WINDOW_MS + 1;
    const fresh = makeDeviceToken(privateKey, { ...claims, issuedAt: now });
    expect(verifyDeviceToken(fresh, keyOf, now, seen)).to.have.property("claims");
    expect(seen.size).to.equal(2);
    // Without the time check, the kept nonce still refuses a replay.
    expect(verifyDeviceToken(recent, keyOf, now, seen, null)).to.deep.include({ reason: "token was already used" });
  });

  it("decodes the same public key to one key object", function () {
    const encoded = encodePublicKey(publicKey);
    expect(decodePublicKey(encoded)).to.equal(decodePublicKey(encoded));
  });
});

import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { PeerCertificate } from "node:tls";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { createSaslBackend } from "./backend.ts";
import { deriveVerifiers } from "./derive.ts";
import { createBearerVerifier } from "./oauth/bearer-verifier.ts";
import { CredentialStore } from "./store.ts";
import { usersFileSchema } from "./users-file.ts";

// A certificate with CN=cn-user@example.test and SAN email:san-user@example.test is built from fields
// here: the backend only reads node:tls's parsed view.
const certificate = {
  subject: { CN: "cn-user@example.test" },
  subjectaltname: "DNS:client.example.test, email:san-user@example.test",
} as unknown as PeerCertificate;

let store: CredentialStore;

before(async () => {
  const verifiers = await deriveVerifiers("pw", { cramMd5: true });
  store = new CredentialStore(
    usersFileSchema.parse({
      users: [
        { username: "alice@example.test", senders: [], authorizeFor: ["team@example.test"], verifiers },
        { username: "cn-user@example.test", senders: [], verifiers },
        { username: "san-user@example.test", senders: [], verifiers },
      ],
    }),
  );
});

describe("createSaslBackend", () => {
  it("answers the password, SCRAM, CRAM-MD5 and authorization questions from the store", async () => {
    const backend = createSaslBackend(store);
    assert.deepEqual(await backend.verifyPassword("alice@example.test", "pw"), {
      kind: "ok",
      username: "alice@example.test",
    });
    assert.deepEqual(await backend.verifyPassword("alice@example.test", "nope"), { kind: "invalid" });
    assert.deepEqual(
      await backend.scramCredential("alice@example.test"),
      await store.scramCredential("alice@example.test"),
    );
    const cram = await backend.cramMd5Secret("alice@example.test");
    assert.equal(cram.kind === "found" && cram.secret.toString(), "pw");
    assert.equal(backend.mayAuthorizeAs("alice@example.test", "team@example.test"), true);
    assert.equal(backend.mayAuthorizeAs("alice@example.test", "cn-user@example.test"), false);
  });

  it("answers unavailable from an unavailable store", async () => {
    const backend = createSaslBackend(CredentialStore.unavailable());
    assert.deepEqual(await backend.verifyPassword("alice@example.test", "pw"), { kind: "unavailable" });
    assert.deepEqual(await backend.scramCredential("alice@example.test"), { kind: "unavailable" });
  });

  it("maps certificates by email subjectAltName by default, by subject CN when configured", () => {
    assert.equal(createSaslBackend(store).certificateIdentity(certificate), "san-user@example.test");
    assert.equal(
      createSaslBackend(store, undefined, "subject.CN").certificateIdentity(certificate),
      "cn-user@example.test",
    );
  });

  it("refuses bearer tokens with a generic error object when OAuth is not configured", async () => {
    assert.deepEqual(await createSaslBackend(store).verifyBearerToken("a.b.c", ""), {
      kind: "invalid",
      errorJson: { status: "invalid_token" },
    });
  });

  it("verifies bearer tokens against the store it was built with", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] };
    const bearer = createBearerVerifier({ issuer: "https://idp.example.test", audience: "postern", jwks });
    const token = await new SignJWT({ email: "alice@example.test", email_verified: true })
      .setProtectedHeader({ alg: "ES256", kid: "k1", typ: "at+jwt" })
      .setIssuer("https://idp.example.test")
      .setAudience("postern")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    assert.deepEqual(await createSaslBackend(store, bearer).verifyBearerToken(token, "alice@example.test"), {
      kind: "ok",
      username: "alice@example.test",
    });
    const emptyStore = new CredentialStore({ users: [] });
    assert.equal((await createSaslBackend(emptyStore, bearer).verifyBearerToken(token, "")).kind, "invalid");
  });
});

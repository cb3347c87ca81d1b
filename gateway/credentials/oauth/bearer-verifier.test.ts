import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWTPayload, SignJWT, UnsecuredJWT } from "jose";
import { CredentialStore } from "../store.ts";
import { usersFileSchema } from "../users-file.ts";
import { type BearerConfig, createBearerVerifier } from "./bearer-verifier.ts";

const ISSUER = "https://idp.example.test/realms/mail";
const AUDIENCE = "postern";
const BCRYPT = "{BLF-CRYPT}$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q";
const ERROR_JSON = {
  status: "invalid_token",
  "openid-configuration": `${ISSUER}/.well-known/openid-configuration`,
};

const users = new CredentialStore(
  usersFileSchema.parse({
    users: [
      { username: "Alice@Example.test", senders: [], verifiers: { password: BCRYPT } },
      { username: "bob@example.test", senders: [], disabled: true, verifiers: { password: BCRYPT } },
      { username: "svc-42", senders: [], verifiers: { password: BCRYPT } },
    ],
  }),
);

type Signer = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
const signers: Record<"RS256" | "ES256" | "stranger", { key: Signer; alg: string; kid: string }> =
  {} as never;
let jwks: JSONWebKeySet;

before(async () => {
  const keys: JSONWebKeySet["keys"] = [];
  for (const [name, alg] of [
    ["RS256", "RS256"],
    ["ES256", "ES256"],
    ["stranger", "ES256"],
  ] as const) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    signers[name] = { key: privateKey, alg, kid: `${name}-key` };
    if (name !== "stranger")
      keys.push({ ...(await exportJWK(publicKey)), kid: `${name}-key`, alg, use: "sig" });
  }
  jwks = { keys };
});

const now = () => Math.floor(Date.now() / 1000);

/** A token for alice from the issuer; `claims` override any of the defaults. */
function token(claims: JWTPayload = {}, signer: keyof typeof signers = "RS256"): Promise<string> {
  const { key, alg, kid } = signers[signer];
  const defaults = {
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + 300,
    sub: "svc-42",
    email: "alice@example.test",
    email_verified: true,
  };
  return new SignJWT({ ...defaults, ...claims }).setProtectedHeader({ alg, kid, typ: "at+jwt" }).sign(key);
}

const verifier = (config: Partial<BearerConfig> = {}) =>
  createBearerVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks, ...config });
const invalid = { kind: "invalid", errorJson: ERROR_JSON };

describe("bearer verifier with a local JWKS", () => {
  it("accepts a valid RS256 token and answers with the user name as written", async () => {
    assert.deepEqual(await verifier().verify(await token(), "", users), {
      kind: "ok",
      username: "Alice@Example.test",
    });
  });

  it("accepts a valid ES256 token", async () => {
    assert.deepEqual(await verifier().verify(await token({}, "ES256"), "", users), {
      kind: "ok",
      username: "Alice@Example.test",
    });
  });

  it("accepts a claimed user equal to the token's user, ignoring case", async () => {
    assert.equal((await verifier().verify(await token(), "ALICE@example.test", users)).kind, "ok");
  });

  it("takes the user name from the configured claim", async () => {
    assert.deepEqual(await verifier({ usernameClaim: "sub" }).verify(await token(), "svc-42", users), {
      kind: "ok",
      username: "svc-42",
    });
  });

  it("accepts one audience of several configured", async () => {
    assert.equal(
      (await verifier({ audience: ["other", AUDIENCE] }).verify(await token(), "", users)).kind,
      "ok",
    );
  });

  it("tolerates 30 seconds of clock skew and no more", async () => {
    assert.equal((await verifier().verify(await token({ exp: now() - 20 }), "", users)).kind, "ok");
    assert.deepEqual(await verifier().verify(await token({ exp: now() - 45 }), "", users), invalid);
    assert.equal((await verifier().verify(await token({ nbf: now() + 20 }), "", users)).kind, "ok");
    assert.deepEqual(await verifier().verify(await token({ nbf: now() + 45 }), "", users), invalid);
  });

  const rejected: [string, () => Promise<string>, string?][] = [
    ["a wrong issuer", () => token({ iss: "https://evil.example.test" })],
    ["a wrong audience", () => token({ aud: "someone-else" })],
    ["an expired token", () => token({ exp: now() - 3600 })],
    [
      "a token without exp",
      () =>
        new SignJWT({ email: "alice@example.test" })
          .setProtectedHeader({ alg: "RS256", kid: "RS256-key" })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .sign(signers.RS256.key),
    ],
    [
      "alg none",
      async () =>
        new UnsecuredJWT({ email: "alice@example.test" })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime("5m")
          .encode(),
    ],
    [
      "HS256",
      () =>
        new SignJWT({ email: "alice@example.test" })
          .setProtectedHeader({ alg: "HS256", kid: "RS256-key" })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime("5m")
          .sign(new TextEncoder().encode("a shared secret of thirty-two bytes!")),
    ],
    [
      "a bad signature",
      async () => {
        const [header, payload, signature] = (await token()).split(".") as [string, string, string];
        const forged = Buffer.from(
          JSON.stringify({
            ...JSON.parse(Buffer.from(payload, "base64url").toString()),
            email: "carol@example.test",
          }),
        ).toString("base64url");
        return `${header}.${forged}.${signature}`;
      },
    ],
    ["a key not in the JWKS", () => token({}, "stranger")],
    ["a user the token names but the client does not", () => token(), "carol@example.test"],
    ["an unknown user", () => token({ email: "mallory@example.test" })],
    ["a disabled user", () => token({ email: "bob@example.test" })],
    ["an email the issuer has not verified", () => token({ email_verified: false })],
    ["an email without email_verified", () => token({ email_verified: undefined })],
    ["an email_verified that is not true", () => token({ email_verified: "true" })],
    ["a token older than maxTokenAgeSeconds", () => token({ iat: now() - 3700 })],
    ["a token without iat", () => token({ iat: undefined })],
    [
      "an ID token (typ JWT)",
      () =>
        new SignJWT({
          iss: ISSUER,
          aud: AUDIENCE,
          iat: now(),
          exp: now() + 300,
          email: "alice@example.test",
          email_verified: true,
        })
          .setProtectedHeader({ alg: "RS256", kid: "RS256-key", typ: "JWT" })
          .sign(signers.RS256.key),
    ],
    [
      "a token without typ",
      () =>
        new SignJWT({
          iss: ISSUER,
          aud: AUDIENCE,
          iat: now(),
          exp: now() + 300,
          email: "alice@example.test",
          email_verified: true,
        })
          .setProtectedHeader({ alg: "RS256", kid: "RS256-key" })
          .sign(signers.RS256.key),
    ],
    ["a token without the user claim", () => token({ email: undefined })],
    ["a non-string user claim", () => token({ email: ["alice@example.test"] })],
    ["garbage", async () => "not-a-jwt"],
    ["an empty token", async () => ""],
  ];
  for (const [description, make, claimedUser = ""] of rejected) {
    it(`rejects ${description} with the RFC 7628 error object`, async () => {
      assert.deepEqual(await verifier().verify(await make(), claimedUser, users), invalid);
    });
  }

  it("puts the configured scope into the error and drops a trailing slash from the issuer", async () => {
    const v = verifier({ issuer: `${ISSUER}/`, scope: "openid email" });
    assert.deepEqual(await v.verify("not-a-jwt", "", users), {
      kind: "invalid",
      errorJson: {
        status: "invalid_token",
        scope: "openid email",
        "openid-configuration": `${ISSUER}/.well-known/openid-configuration`,
      },
    });
  });

  it("enforces the configured scope, from a scope string, a scope array or scp", async () => {
    const v = verifier({ scope: "smtp.send" });
    assert.equal((await v.verify(await token({ scope: "openid smtp.send" }), "", users)).kind, "ok");
    assert.equal((await v.verify(await token({ scp: ["smtp.send"] }), "", users)).kind, "ok");
    assert.equal((await v.verify(await token({ scope: "openid" }), "", users)).kind, "invalid");
    assert.equal((await v.verify(await token(), "", users)).kind, "invalid", "no scope at all");
    assert.equal((await verifier().verify(await token(), "", users)).kind, "ok", "none configured");
  });

  it("accepts the configured token types, compared as media types", async () => {
    const typed = (typ: string) =>
      new SignJWT({
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now(),
        exp: now() + 300,
        email: "alice@example.test",
        email_verified: true,
      })
        .setProtectedHeader({ alg: "RS256", kid: "RS256-key", typ })
        .sign(signers.RS256.key);
    assert.equal((await verifier().verify(await typed("application/AT+JWT"), "", users)).kind, "ok");
    assert.equal((await verifier({ tokenTypes: ["JWT"] }).verify(await typed("jwt"), "", users)).kind, "ok");
    assert.equal(
      (await verifier({ tokenTypes: ["JWT"] }).verify(await typed("at+jwt"), "", users)).kind,
      "invalid",
    );
  });

  it("takes maxTokenAgeSeconds from the configuration", async () => {
    const old = await token({ iat: now() - 600 });
    assert.equal((await verifier().verify(old, "", users)).kind, "ok");
    assert.equal((await verifier({ maxTokenAgeSeconds: 300 }).verify(old, "", users)).kind, "invalid");
  });

  it("needs email_verified only when the user name comes from email", async () => {
    const v = verifier({ usernameClaim: "sub" });
    assert.equal((await v.verify(await token({ email_verified: undefined }), "", users)).kind, "ok");
  });

  it("answers unavailable while the credential store is unavailable", async () => {
    assert.deepEqual(await verifier().verify(await token(), "", CredentialStore.unavailable()), {
      kind: "unavailable",
    });
  });

  it("refuses a configuration without exactly one key source, or with a plain-http remote JWKS", () => {
    assert.throws(
      () => createBearerVerifier({ issuer: ISSUER, audience: AUDIENCE }),
      /exactly one of jwksUrl and jwks/,
    );
    assert.throws(
      () => createBearerVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks, jwksUrl: "https://idp/jwks" }),
      /exactly one/,
    );
    assert.throws(
      () =>
        createBearerVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: "http://idp.example.test/jwks" }),
      /must use https/,
    );
  });
});

describe("bearer verifier with a JWKS served over HTTP", () => {
  let server: Server;
  let base: string;
  let status = 200;
  let fetches = 0;

  before(async () => {
    server = createServer((_request, response) => {
      fetches++;
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("fetches the key set once and verifies tokens against it", async () => {
    const v = createBearerVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${base}/jwks` });
    assert.deepEqual(await v.verify(await token(), "", users), {
      kind: "ok",
      username: "Alice@Example.test",
    });
    assert.equal((await v.verify(await token({}, "ES256"), "", users)).kind, "ok");
    assert.equal(fetches, 1, "jose caches the key set");
    assert.deepEqual(await v.verify(await token({ aud: "x" }), "", users), invalid);
  });

  it("answers unavailable when the JWKS endpoint fails, invalid for tokens it can reject unseen", async () => {
    status = 500;
    try {
      const v = createBearerVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${base}/broken` });
      assert.deepEqual(await v.verify(await token(), "", users), { kind: "unavailable" });
      const none = new UnsecuredJWT({ email: "alice@example.test" })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .encode();
      assert.deepEqual(await v.verify(none, "", users), invalid);
    } finally {
      status = 200;
    }
  });

  it("answers unavailable when the JWKS server is down", async () => {
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(down.address() as AddressInfo).port}/jwks`;
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const v = createBearerVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: url });
    assert.deepEqual(await v.verify(await token(), "", users), { kind: "unavailable" });
  });
});

import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from "node:crypto";
import { describe, it } from "node:test";
import { deriveVerifiers, verifierNeeds } from "./derive.ts";
import { parsePasswordHash, verifyPasswordHash } from "./password-hash.ts";
import { deriveScramCredential, deriveScramCredentialAsync } from "./scram-credential.ts";
import { verifiersSchema } from "./users-file.ts";

const hmac = (key: Buffer, data: string) => createHmac("sha256", key).update(data).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((byte, index) => byte ^ (b[index] ?? 0)));

/** Plays both sides of a SCRAM-SHA-256 proof check (RFC 5802 §3): the client from the password, the
 *  server from the stored keys only. True when the server accepts the client and vice versa. */
function scramRoundTrip(
  password: string,
  stored: { salt: Buffer; iterations: number; storedKey: Buffer; serverKey: Buffer },
  authMessage: string,
): boolean {
  const saltedPassword = pbkdf2Sync(password, stored.salt, stored.iterations, 32, "sha256");
  const clientKey = hmac(saltedPassword, "Client Key");
  const clientProof = xor(clientKey, hmac(createHash("sha256").update(clientKey).digest(), authMessage));
  // Server: recover ClientKey from the proof, check it hashes to StoredKey.
  const recovered = xor(clientProof, hmac(stored.storedKey, authMessage));
  const serverAccepts = timingSafeEqual(createHash("sha256").update(recovered).digest(), stored.storedKey);
  // Client: check the server's signature with its own ServerKey.
  const clientAccepts = hmac(stored.serverKey, authMessage).equals(
    hmac(hmac(saltedPassword, "Server Key"), authMessage),
  );
  return serverAccepts && clientAccepts;
}

describe("SCRAM-SHA-256 derivation", () => {
  it("reproduces RFC 7677 §3's exchange for password pencil", () => {
    const credential = deriveScramCredential(
      "pencil",
      Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64"),
      4096,
    );
    const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    // The server's signature from ServerKey must be the RFC's `v=`.
    assert.equal(
      hmac(credential.serverKey, authMessage).toString("base64"),
      "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    );
    // The RFC's client proof must verify against StoredKey.
    const proof = Buffer.from("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "base64");
    const clientKey = xor(proof, hmac(credential.storedKey, authMessage));
    assert.deepEqual(createHash("sha256").update(clientKey).digest(), credential.storedKey);
  });
});

describe("deriveVerifiers", () => {
  it("derives an argon2id hash and SCRAM keys that both accept the password, in the file's format", async () => {
    const written = await deriveVerifiers("pencil");
    const parsed = verifiersSchema.parse(written);
    assert.ok(parsed.password && parsed.scramSha256);
    assert.equal(parsed.password.scheme, "argon2id");
    assert.equal(await verifyPasswordHash(parsePasswordHash(written.password as string), "pencil"), true);
    assert.equal(await verifyPasswordHash(parsed.password, "pencil!"), false);
    assert.equal(parsed.scramSha256.iterations, 4096);
    assert.equal(parsed.scramSha256.salt.length, 16);
    assert.equal(
      scramRoundTrip("pencil", parsed.scramSha256, "n=u,r=abc,r=abcdef,s=x,i=4096,c=biws,r=abcdef"),
      true,
    );
    assert.equal(
      scramRoundTrip("pencil!", parsed.scramSha256, "n=u,r=abc,r=abcdef,s=x,i=4096,c=biws,r=abcdef"),
      false,
    );
    assert.equal(written.cramMd5, undefined, "CRAM-MD5 only on request");
  });

  it("uses a fresh random salt every time", async () => {
    const [a, b] = [await deriveVerifiers("same"), await deriveVerifiers("same")];
    assert.notEqual(a.scramSha256?.salt, b.scramSha256?.salt);
    assert.notEqual(a.password, b.password);
  });

  it("honours a higher iteration count and refuses one below 4096", async () => {
    const written = await deriveVerifiers("pw", { scramIterations: 10_000 });
    assert.equal(written.scramSha256?.iterations, 10_000);
    const parsed = verifiersSchema.parse(written);
    assert.ok(parsed.scramSha256);
    assert.equal(scramRoundTrip("pw", parsed.scramSha256, "m"), true);
    await assert.rejects(deriveVerifiers("pw", { scramIterations: 4095 }), RangeError);
  });

  it("emits the CRAM-MD5 shared secret (base64 of the UTF-8 password) when asked", async () => {
    const written = await deriveVerifiers("pässword", { cramMd5: true });
    assert.equal(Buffer.from(written.cramMd5 ?? "", "base64").toString("utf8"), "pässword");
  });

  it("derives exactly the verifiers the offered mechanisms check", async () => {
    const cases: [string[], string[]][] = [
      [["PLAIN"], ["password"]],
      [["LOGIN", "XOAUTH2"], ["password"]],
      [["SCRAM-SHA-256"], ["scramSha256"]],
      [["CRAM-MD5"], ["cramMd5"]],
      [
        ["SCRAM-SHA-256", "PLAIN", "LOGIN", "CRAM-MD5"],
        ["password", "scramSha256", "cramMd5"],
      ],
      [["EXTERNAL", "OAUTHBEARER"], []],
    ];
    for (const [mechanisms, expected] of cases) {
      const written = await deriveVerifiers("pw", { mechanisms, scramIterations: 5000 });
      assert.deepEqual(Object.keys(written), expected, mechanisms.join(","));
      assert.deepEqual(
        Object.entries(verifierNeeds(mechanisms))
          .filter(([, needed]) => needed)
          .map(([name]) => name),
        expected,
      );
      if (written.scramSha256) assert.equal(written.scramSha256.iterations, 5000);
    }
  });

  it("derives SCRAM keys on the threadpool identical to the synchronous derivation", async () => {
    const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
    assert.deepEqual(
      await deriveScramCredentialAsync("pencil", salt, 4096),
      deriveScramCredential("pencil", salt, 4096),
    );
    await assert.rejects(deriveScramCredentialAsync("pencil", salt, 4095), RangeError);
  });
});

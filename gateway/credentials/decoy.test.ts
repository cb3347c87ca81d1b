import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decoyPasswordHash, decoyScramCredential, parseDecoyKey, unprovable } from "./decoy.ts";
import { hashPassword, verifyPasswordHash } from "./password-hash.ts";

const parametersOf = (stored: string) => stored.split("$")[3];

describe("decoys", () => {
  it("the decoy password hash is argon2id with the parameters of real hashes, computed once", async () => {
    const decoy = await decoyPasswordHash();
    assert.equal(decoy.scheme, "argon2id");
    assert.equal(parametersOf(decoy.stored), parametersOf(await hashPassword("real")));
    assert.equal(await decoyPasswordHash(), decoy, "the same hash every time");
    assert.equal(await verifyPasswordHash(decoy, ""), false);
  });

  it("a decoy SCRAM credential has a stable per-name 16-byte salt and unusable keys", () => {
    const a = decoyScramCredential("Mallory@example.test", 4096);
    const b = decoyScramCredential("mallory@EXAMPLE.test", 4096);
    assert.equal(a.salt.length, 16);
    assert.deepEqual(a.salt, b.salt);
    assert.notDeepEqual(a.salt, decoyScramCredential("eve@example.test", 4096).salt);
    assert.equal(a.iterations, 4096);
    assert.equal(a.storedKey.length, 32);
    assert.notDeepEqual(a.storedKey, b.storedKey);
    assert.notDeepEqual(a.serverKey, b.serverKey);
  });

  it("unprovable keeps salt and iterations and replaces both keys", () => {
    const real = {
      salt: Buffer.from("salt"),
      iterations: 8192,
      storedKey: Buffer.alloc(32),
      serverKey: Buffer.alloc(32),
    };
    const decoy = unprovable(real);
    assert.deepEqual([decoy.salt, decoy.iterations], [real.salt, real.iterations]);
    assert.notDeepEqual(decoy.storedKey, real.storedKey);
    assert.notDeepEqual(decoy.serverKey, real.serverKey);
  });
});

describe("decoy keys", () => {
  const key = (fill: number) => Buffer.alloc(32, fill);

  it("the same key gives a name the same salt in any process; another key another salt", () => {
    const salt = (k: Buffer) => decoyScramCredential("nobody@example.test", 4096, k).salt;
    assert.deepEqual(salt(key(1)), salt(Buffer.from(key(1))));
    assert.notDeepEqual(salt(key(1)), salt(key(2)));
    assert.notDeepEqual(salt(key(1)), decoyScramCredential("nobody@example.test", 4096).salt);
  });

  it("a key file holds base64 of 32 bytes, a trailing newline allowed", () => {
    assert.deepEqual(parseDecoyKey(`${key(7).toString("base64")}\n`), key(7));
    for (const bad of [
      "",
      Buffer.alloc(31).toString("base64"),
      "not base64 at all!",
      `${"A".repeat(43)}=x`,
    ]) {
      assert.throws(() => parseDecoyKey(bad), { message: "must be base64 of 32 bytes" });
    }
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { describeVerifier, passwdFileStoredHash, posternStoredHash } from "./verifier-at-rest.ts";

const PHC =
  "$argon2id$v=19$m=19456,p=1,t=2$pF51kjB47RpaLH5Lk0iVXA$iUaFTWuNoixvGiB1xuuSLZSG5Gbd7nkn5ps2I0DdKek";
const DOVECOT = `{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$FyFuXKRB3kcJGQk7RHV4Ag$22yQpyHMilXlDdpieV1VpP1HNxSubwpJuCUWaIB3IL4`;

test("an argon2id PHC string is argon2id, shown without salt and hash", () => {
  assert.deepEqual(describeVerifier(PHC), { scheme: "argon2id", prefix: "$argon2id$v=19$m=19456,p=1,t=2$" });
});

test("a Dovecot {ARGON2ID} hash is argon2id too", () => {
  assert.deepEqual(describeVerifier(DOVECOT), {
    scheme: "argon2id",
    prefix: "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$",
  });
});

test("anything the gateway would not accept as a hash has no scheme, and its text is not echoed", () => {
  const plain = describeVerifier("secret");
  assert.equal(plain.scheme, undefined);
  assert.ok(!plain.prefix.includes("secret"));
  assert.equal(describeVerifier("").scheme, undefined);
});

test("the stored hash is found by user name in a Postern users file and a Dovecot passwd-file", () => {
  const users = {
    users: [{ username: "bob@example.com" }, { username: "alice@example.com", verifiers: { password: PHC } }],
  };
  assert.equal(posternStoredHash(users, "alice@example.com"), PHC);
  assert.equal(posternStoredHash(users, "bob@example.com"), undefined);
  assert.equal(posternStoredHash(null, "alice@example.com"), undefined);
  const passwd = `bob@example.com:{PLAIN}x\nalice@example.com:${DOVECOT}\n`;
  assert.equal(passwdFileStoredHash(passwd, "alice@example.com"), DOVECOT);
  assert.equal(passwdFileStoredHash(passwd, "carol@example.com"), undefined);
});

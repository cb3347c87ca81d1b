import assert from "node:assert/strict";
import { test } from "node:test";
import {
  describeVerifier,
  passwdFileStoredHash,
  posternStoredHash,
  sameArgon2idCost,
} from "./verifier-at-rest.ts";

const PHC =
  "$argon2id$v=19$m=19456,p=1,t=2$pF51kjB47RpaLH5Lk0iVXA$iUaFTWuNoixvGiB1xuuSLZSG5Gbd7nkn5ps2I0DdKek";
const DOVECOT = `{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$FyFuXKRB3kcJGQk7RHV4Ag$22yQpyHMilXlDdpieV1VpP1HNxSubwpJuCUWaIB3IL4`;

test("an argon2id PHC string is argon2id, shown without salt and hash", () => {
  assert.deepEqual(describeVerifier(PHC), {
    scheme: "argon2id",
    cost: "argon2id m=19456,t=2,p=1",
    prefix: "$argon2id$v=19$m=19456,p=1,t=2$",
  });
});

test("a Dovecot {ARGON2ID} hash is argon2id too", () => {
  assert.deepEqual(describeVerifier(DOVECOT), {
    scheme: "argon2id",
    cost: "argon2id m=65536,t=3,p=1",
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

test("the gate checks the cost on both sides, not the scheme name", () => {
  const same = `{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$FyFuXKRB3kcJGQk7RHV4Ag$22yQpyHMilXlDdpieV1VpP1HNxSubwpJuCUWaIB3IL4`;
  assert.equal(sameArgon2idCost(describeVerifier(PHC), describeVerifier(same)), true);
  // doveadm's default (m=64 MiB, t=3) costs the anchor more per login than Postern's: no like with like.
  assert.equal(sameArgon2idCost(describeVerifier(PHC), describeVerifier(DOVECOT)), false);
  // argon2id by name, but below the minimum cost: not a verifier the comparison may rest on.
  const weak =
    "$argon2id$v=19$m=8,t=1,p=1$FyFuXKRB3kcJGQk7RHV4Ag$22yQpyHMilXlDdpieV1VpP1HNxSubwpJuCUWaIB3IL4";
  assert.equal(describeVerifier(weak).scheme, undefined);
  assert.equal(sameArgon2idCost(describeVerifier(weak), describeVerifier(weak)), false);
});

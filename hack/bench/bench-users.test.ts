import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalArgon2id, coldUsers, userFiles } from "./bench-users.ts";

const HASH =
  "$argon2id$v=19$m=19456,p=1,t=2$xv0x88cKZXLRBd4OEW1MJg$QTB2S1djPgOLjAQmz4kXlA/Enp9p6QnPzqvgejl5s9M";

test("canonicalArgon2id puts the parameters in libsodium's order and changes nothing else", () => {
  assert.equal(
    canonicalArgon2id(HASH),
    "$argon2id$v=19$m=19456,t=2,p=1$xv0x88cKZXLRBd4OEW1MJg$QTB2S1djPgOLjAQmz4kXlA/Enp9p6QnPzqvgejl5s9M",
  );
  assert.equal(canonicalArgon2id(canonicalArgon2id(HASH)), canonicalArgon2id(HASH));
});

test("both servers' files hold the same hash for each user", () => {
  const files = userFiles(new Map([["alice@example.com", "$argon2id$v=19$m=19456,t=2,p=1$s$h"]]));
  assert.equal(files.dovecot, "alice@example.com:{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$s$h\n");
  assert.match(files.postern, /password: \$argon2id\$v=19\$m=19456,t=2,p=1\$s\$h/);
  assert.deepEqual(coldUsers(2, 2), ["cold-2-1@example.com", "cold-2-2@example.com"]);
});

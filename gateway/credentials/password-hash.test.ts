import assert from "node:assert/strict";
import { describe, it } from "node:test";
import bcrypt from "bcryptjs";
import * as unixcrypt from "unixcrypt";
import { threadpoolThreads } from "../runtime/threadpool.ts";
import {
  ARGON2ID_PARAMETERS,
  argon2Slots,
  hashPassword,
  parsePasswordHash,
  verifyPasswordHash,
} from "./password-hash.ts";

// Generated with Dovecot 2.3.19.1: `doveadm pw -s <SCHEME> [-r <rounds>] -p <password>`.
const DOVECOT = {
  secret: [
    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$/4gUplKGIWulcBqCd4+vLQ$0lmXMoSjQcEhO+Y7c3PFcNHeRCmtJLX7mMR+YEJInws",
    "{BLF-CRYPT}$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q",
    "{BLF-CRYPT}$2y$08$HbCOPR.qbNGWTEah3jpUteSYys5YR2xg1nrJKaDgZH99QL5v1.p1K",
    "{SHA512-CRYPT}$6$cWnuWBN/pa7t9x1K$B6J46yuv2yaICLztTOP.eKaVDPlUwrygbqKI56Vvw5tG/LBHySqOhgRsZ2RNkfr5lESXN3Xix1KkfVYqUGVnT/",
    "{SHA512-CRYPT}$6$rounds=10000$E3XIBU9mGWBnVuq1$UHuL96Bd/4gqbot7/rNV86Ki399ZHL/zd4K1Oil1xHhovrWRcBYoVNANbFMztie8uY5lq17/dlCuCAuKTBGCo1",
  ],
  "pässword with spaces": [
    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$UlMLH1EcbkJQDYR7se3sNQ$wBwSqeVzrE40Kk3Fhed7mDfoba4d7j6Hje+B2CxyyBI",
    "{BLF-CRYPT}$2y$05$zJc6DLzIsuxwY4q.kNpE.OhDgmVjm.fzq/NjLsKHdgudUJTEVFvf.",
    "{SHA512-CRYPT}$6$Y3APfF1DcO.mQxrn$NQ9GkyxTYUiAnFEafC5XnTFmxSPgPRDIDSQxmHDP30Y8IM6P1ow/5qiluBGmTD8AlpzIIMPGMB/gOL.7Bwvpm1",
  ],
};

const ARGON_SALT_HASH = "/4gUplKGIWulcBqCd4+vLQ$0lmXMoSjQcEhO+Y7c3PFcNHeRCmtJLX7mMR+YEJInws";
const SHA_HASH = "B6J46yuv2yaICLztTOP.eKaVDPlUwrygbqKI56Vvw5tG/LBHySqOhgRsZ2RNkfr5lESXN3Xix1KkfVYqUGVnT/";

async function check(stored: string, right: string): Promise<void> {
  const hash = parsePasswordHash(stored);
  assert.equal(await verifyPasswordHash(hash, right), true, `${stored} accepts the right password`);
  assert.equal(await verifyPasswordHash(hash, `${right}x`), false, `${stored} rejects a wrong password`);
  assert.equal(await verifyPasswordHash(hash, ""), false, `${stored} rejects the empty password`);
}

describe("password hashes", () => {
  for (const [password, hashes] of Object.entries(DOVECOT)) {
    for (const stored of hashes) {
      it(`verifies Dovecot's known-answer ${stored.slice(0, 30)}… of "${password}"`, () =>
        check(stored, password));
    }
  }

  it("parses the scheme from the Dovecot prefix and keeps the stored string", () => {
    const [argon, bcryptHash, , sha] = DOVECOT.secret as [string, string, string, string];
    assert.deepEqual(
      [argon, bcryptHash, sha].map((stored) => parsePasswordHash(stored)).map((h) => [h.scheme, h.stored]),
      [
        ["argon2id", argon],
        ["bcrypt", bcryptHash],
        ["sha512-crypt", sha],
      ],
    );
    assert.equal(parsePasswordHash(argon).digest, argon.slice("{ARGON2ID}".length));
  });

  it("names each hash's cost, equal for hashes that take equally long to check", () => {
    const [argon, bcryptHash, , sha] = DOVECOT.secret as [string, string, string, string];
    assert.deepEqual(
      [argon, bcryptHash, sha].map((stored) => parsePasswordHash(stored).cost),
      ["argon2id m=65536,t=3,p=1", "bcrypt cost=5", "sha512-crypt rounds=5000"],
    );
    const reordered = `$argon2id$v=19$p=1,t=3,m=65536$${argon.split("$").slice(4).join("$")}`;
    assert.equal(parsePasswordHash(reordered).cost, parsePasswordHash(argon).cost);
  });

  it("hashPassword makes a PHC argon2id string with the OWASP parameters that verifies", async () => {
    const stored = await hashPassword("correct horse");
    const { memoryCost, timeCost, parallelism } = ARGON2ID_PARAMETERS;
    assert.match(stored, /^\$argon2id\$v=19\$/);
    for (const parameter of [`m=${memoryCost}`, `t=${timeCost}`, `p=${parallelism}`]) {
      assert.ok(stored.split("$")[3]?.split(",").includes(parameter), `${stored} has ${parameter}`);
    }
    assert.deepEqual([memoryCost, timeCost, parallelism], [19456, 2, 1]);
    await check(stored, "correct horse");
    assert.notEqual(await hashPassword("correct horse"), stored, "a fresh salt each time");
  });

  it("hands libuv at most two argon2id computations beyond its threads, checks and hashes alike", async () => {
    const stored = parsePasswordHash(await hashPassword("pw"));
    const slots = threadpoolThreads() + 2;
    const work = [
      ...Array.from({ length: slots }, () => verifyPasswordHash(stored, "wrong")),
      ...Array.from({ length: 3 }, () => hashPassword("pw")),
    ];
    assert.deepEqual([argon2Slots().active, argon2Slots().waiting], [slots, 3]);
    const [first] = await Promise.all(work);
    assert.equal(first, false);
    assert.deepEqual([argon2Slots().active, argon2Slots().waiting], [0, 0]);
  });

  it("verifies bcrypt hashes made by bcryptjs in every variant ($2a$, $2b$, $2y$)", async () => {
    const made = await bcrypt.hash("tr0ub4dor", 4);
    for (const variant of ["2a", "2b", "2y"])
      await check(`{BLF-CRYPT}$${variant}${made.slice(3)}`, "tr0ub4dor");
  });

  it("verifies SHA512-CRYPT hashes made by unixcrypt, default and explicit rounds", async () => {
    await check(`{SHA512-CRYPT}${unixcrypt.encrypt("hunter2")}`, "hunter2");
    await check(`{SHA512-CRYPT}${unixcrypt.encrypt("hunter2", "$6$rounds=6000$abcdefgh")}`, "hunter2");
  });

  it("verifies argon2id with the {ARGON2ID} prefix as well as without, prefixes in any case", async () => {
    const stored = await hashPassword("pw");
    await check(`{ARGON2ID}${stored}`, "pw");
    assert.equal(parsePasswordHash(`{argon2id}${stored}`).scheme, "argon2id");
    assert.equal(parsePasswordHash(DOVECOT.secret[1]?.replace("BLF", "blf") ?? "").scheme, "bcrypt");
  });

  describe("refuses at parse time what it could not verify", () => {
    const refused: [string, string, RegExp][] = [
      ["a plaintext password", "plain text password", /unsupported password hash: expected/],
      ["an empty string", "", /unsupported password hash/],
      ["{PLAIN}", "{PLAIN}secret", /unsupported password hash scheme \{PLAIN\}/],
      [
        "{SSHA512}",
        "{SSHA512}8E8v6gok3vu00LH7vN2EVEa7u/zEWvcWLzkveFNejSPvwqjQ1/2m0QUP6ZzaaEjsQ9Nhl3ZPe/5skaqhA4/AtHyfClM=",
        /scheme \{SSHA512\}/,
      ],
      [
        "{ARGON2I}",
        "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$HH8J3rh8lQg9Jy2XqnxcxQ$yLH+nKF3pkbAwhHeb5QttvhtIRPa9zkIuwXUrvLmM+g",
        /scheme \{ARGON2I\}/,
      ],
      [
        "PHC argon2i",
        "$argon2i$v=19$m=32768,t=4,p=1$HH8J3rh8lQg9Jy2XqnxcxQ$yLH+nKF3pkbAwhHeb5QttvhtIRPa9zkIuwXUrvLmM+g",
        /unsupported password hash/,
      ],
      [
        "bcrypt without its prefix",
        "$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q",
        /unsupported/,
      ],
      ["argon2id version 16", `$argon2id$v=16$m=65536,t=3,p=1$${ARGON_SALT_HASH}`, /malformed argon2id/],
      ["argon2id with t=0", `$argon2id$v=19$m=65536,t=0,p=1$${ARGON_SALT_HASH}`, /malformed argon2id/],
      ["argon2id with m < 8p", `$argon2id$v=19$m=7,t=1,p=1$${ARGON_SALT_HASH}`, /malformed argon2id/],
      ["argon2id at m=8 KiB, t=1", `$argon2id$v=19$m=8,t=1,p=1$${ARGON_SALT_HASH}`, /below OWASP/],
      ["argon2id at 19 MiB but one pass", `$argon2id$v=19$m=19456,t=1,p=1$${ARGON_SALT_HASH}`, /below OWASP/],
      [
        "argon2id just under 7 MiB at five passes",
        `$argon2id$v=19$m=7167,t=5,p=1$${ARGON_SALT_HASH}`,
        /below OWASP/,
      ],
      [
        "argon2id with a leading zero in a parameter",
        `$argon2id$v=19$m=019456,t=2,p=1$${ARGON_SALT_HASH}`,
        /malformed argon2id/,
      ],
      [
        "argon2id whose salt is not canonical base64 (trailing bits set)",
        `$argon2id$v=19$m=65536,t=3,p=1$${ARGON_SALT_HASH.replace("vLQ$", "vLR$")}`,
        /malformed argon2id/,
      ],
      [
        "argon2id whose salt is cut to a length base64 cannot have",
        `$argon2id$v=19$m=65536,t=3,p=1$${ARGON_SALT_HASH.replace("vLQ$", "vL$")}`,
        /malformed argon2id/,
      ],
      [
        "argon2id with a 4-octet hash",
        "$argon2id$v=19$m=65536,t=3,p=1$/4gUplKGIWulcBqCd4+vLQ$AAAAAA",
        /malformed/,
      ],
      [
        "argon2id with 256 lanes",
        `$argon2id$v=19$m=65536,t=3,p=256$${ARGON_SALT_HASH}`,
        /malformed argon2id/,
      ],
      [
        "argon2id with 4 GiB of memory",
        `$argon2id$v=19$m=4194304,t=1,p=1$${ARGON_SALT_HASH}`,
        /above the gateway's maximum cost/,
      ],
      [
        "argon2id with 256 MiB but three passes",
        `$argon2id$v=19$m=262144,t=3,p=1$${ARGON_SALT_HASH}`,
        /above the gateway's maximum cost/,
      ],
      [
        "argon2id with a repeated parameter",
        `$argon2id$v=19$m=65536,m=1,t=3$${ARGON_SALT_HASH}`,
        /malformed argon2id/,
      ],
      [
        "argon2id without its hash",
        "$argon2id$v=19$m=65536,t=3,p=1$/4gUplKGIWulcBqCd4+vLQ",
        /malformed argon2id/,
      ],
      [
        "bcrypt $2x$",
        "{BLF-CRYPT}$2x$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q",
        /malformed bcrypt/,
      ],
      [
        "truncated bcrypt",
        "{BLF-CRYPT}$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3",
        /malformed bcrypt/,
      ],
      [
        "SHA512-CRYPT with rounds < 1000",
        `{SHA512-CRYPT}$6$rounds=999$E3XIBU9mGWBnVuq1$${SHA_HASH}`,
        /malformed SHA512/,
      ],
      [
        "SHA256-CRYPT under the SHA512 prefix",
        `{SHA512-CRYPT}$5$cWnuWBN/pa7t9x1K$${SHA_HASH}`,
        /malformed SHA512/,
      ],
    ];
    for (const [description, stored, message] of refused) {
      it(`refuses ${description}`, () => {
        assert.throws(() => parsePasswordHash(stored), message);
      });
    }

    it("never echoes the stored value in the error", () => {
      assert.throws(
        () => parsePasswordHash("{PLAIN}hunter2"),
        (error: Error) => !error.message.includes("hunter2"),
      );
    });
  });

  it("accepts every OWASP-equivalent argon2id minimum, whatever the lanes", () => {
    for (const [m, t, p] of [
      [47104, 1, 1],
      [19456, 2, 1],
      [12288, 3, 4],
      [9216, 4, 1],
      [7168, 5, 1],
      [65536, 3, 1],
    ]) {
      const stored = `$argon2id$v=19$m=${m},t=${t},p=${p}$${ARGON_SALT_HASH}`;
      assert.equal(parsePasswordHash(stored).scheme, "argon2id", stored);
    }
  });

  it("accepts argon2id parameters in any order (node-argon2, which earlier versions used, wrote m,p,t)", async () => {
    const stored = await hashPassword("order");
    assert.match(stored, /\$m=19456,t=2,p=1\$/);
    const reordered = stored.replace("m=19456,t=2,p=1", "m=19456,p=1,t=2");
    await check(reordered, "order");
    // Written by node-argon2 0.45.1, as earlier versions stored it.
    const nodeArgon2 =
      "$argon2id$v=19$m=19456,p=1,t=2$WESobxls/A9UHGsINg0sbw$Pz7cpG1Otag94H7Hq5+CY58hygeo6LkmWX9krMcxTKc";
    await check(nodeArgon2, "correct horse battery");
    assert.equal(parsePasswordHash(nodeArgon2).cost, parsePasswordHash(stored).cost);
  });

  it("accepts argon2id up to the gateway's maximum cost", () => {
    for (const [m, t] of [
      [262144, 2],
      [38912, 16],
    ]) {
      assert.equal(
        parsePasswordHash(`$argon2id$v=19$m=${m},t=${t},p=1$${ARGON_SALT_HASH}`).scheme,
        "argon2id",
      );
    }
  });

  it("refuses migration hashes too costly to verify in JavaScript", () => {
    const bcrypt13 = `$2y$13$${"a".repeat(53)}`;
    const sha20k = `$6$rounds=20000$saltsalt$${"a".repeat(86)}`;
    assert.throws(() => parsePasswordHash(`{BLF-CRYPT}${bcrypt13}`), /cost 04-12/);
    assert.throws(() => parsePasswordHash(`{SHA512-CRYPT}${sha20k}`), /N <= 10000/);
    assert.equal(parsePasswordHash(`{BLF-CRYPT}$2y$12$${"a".repeat(53)}`).scheme, "bcrypt");
  });
});

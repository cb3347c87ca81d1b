import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { deriveVerifiers } from "./derive.ts";
import { CredentialStore, MAX_PASSWORD_BYTES } from "./store.ts";
import { type UsersFile, type UsersFileInput, usersFileSchema } from "./users-file.ts";
import { VerifiedCache } from "./verified-cache.ts";

const BCRYPT_SECRET = "{BLF-CRYPT}$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q";
const SHA512_SECRET =
  "{SHA512-CRYPT}$6$cWnuWBN/pa7t9x1K$B6J46yuv2yaICLztTOP.eKaVDPlUwrygbqKI56Vvw5tG/LBHySqOhgRsZ2RNkfr5lESXN3Xix1KkfVYqUGVnT/";

let input: UsersFileInput;
let file: UsersFile;

before(async () => {
  const alice = await deriveVerifiers("alice-pw", { cramMd5: true });
  const carol = await deriveVerifiers("carol-pw", { scramIterations: 8192 });
  const dave = await deriveVerifiers("dave-pw", { scramIterations: 8192 });
  input = {
    users: [
      {
        username: "Alice@Example.test",
        senders: ["alice@example.test"],
        authorizeFor: ["Shared@Example.test"],
        allowedCidrs: ["10.0.0.0/8"],
        verifiers: alice,
      },
      {
        username: "bob@example.test",
        senders: [],
        disabled: true,
        verifiers: await deriveVerifiers("bob-pw", { cramMd5: true, scramIterations: 8192 }),
      },
      { username: "carol@example.test", senders: [], verifiers: carol },
      { username: "dave@example.test", senders: [], verifiers: dave },
      { username: "scram-only@example.test", senders: [], verifiers: { scramSha256: alice.scramSha256 } },
      { username: "legacy-bcrypt@example.test", senders: [], verifiers: { password: BCRYPT_SECRET } },
      { username: "legacy-sha@example.test", senders: [], verifiers: { password: SHA512_SECRET } },
    ],
  };
  file = usersFileSchema.parse(input);
});

const store = (cache = new VerifiedCache()) => new CredentialStore(file, { cache });

async function timed<T>(action: () => Promise<T>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

describe("CredentialStore.verifyPassword", () => {
  it("accepts the right password and answers with the user name as written, matching case-insensitively", async () => {
    assert.deepEqual(await store().verifyPassword("alice@example.TEST", "alice-pw"), {
      kind: "ok",
      username: "Alice@Example.test",
    });
  });

  it("rejects a wrong password", async () => {
    assert.deepEqual(await store().verifyPassword("Alice@Example.test", "alice-pw "), { kind: "invalid" });
  });

  it("verifies migrated Dovecot BLF-CRYPT and SHA512-CRYPT users", async () => {
    const s = store();
    for (const name of ["legacy-bcrypt@example.test", "legacy-sha@example.test"]) {
      assert.deepEqual(await s.verifyPassword(name, "secret"), { kind: "ok", username: name });
      assert.deepEqual(await s.verifyPassword(name, "Secret"), { kind: "invalid" });
    }
  });

  it("gives an unknown user and a user without a password hash the same verdict and cost as a wrong password", async () => {
    const s = store();
    await s.verifyPassword("warm-up@example.test", "x"); // the decoy hash is computed on first use
    const wrong: number[] = [];
    const unknown: number[] = [];
    const noHash: number[] = [];
    for (let run = 0; run < 5; run++) {
      wrong.push(
        await timed(async () =>
          assert.deepEqual(await s.verifyPassword("alice@example.test", "nope"), { kind: "invalid" }),
        ),
      );
      unknown.push(
        await timed(async () =>
          assert.deepEqual(await s.verifyPassword("mallory@example.test", "nope"), { kind: "invalid" }),
        ),
      );
      noHash.push(
        await timed(async () =>
          assert.deepEqual(await s.verifyPassword("scram-only@example.test", "alice-pw"), {
            kind: "invalid",
          }),
        ),
      );
    }
    const [w, u, n] = [median(wrong), median(unknown), median(noHash)];
    for (const [label, value] of [
      ["unknown user", u],
      ["user without hash", n],
    ] as const) {
      // Same order of magnitude (a skipped argon2id would be ~100x faster); the machine is noisy.
      assert.ok(
        value > w / 3 && value < w * 3,
        `${label} ${value.toFixed(1)} ms vs wrong password ${w.toFixed(1)} ms`,
      );
    }
  });

  it("rejects a disabled user even with the right password, after a full verification", async () => {
    const s = store();
    const cost = await timed(async () =>
      assert.deepEqual(await s.verifyPassword("bob@example.test", "bob-pw"), { kind: "invalid" }),
    );
    const wrong = await timed(() => s.verifyPassword("alice@example.test", "nope"));
    assert.ok(cost > wrong / 3, `disabled ${cost.toFixed(1)} ms vs wrong password ${wrong.toFixed(1)} ms`);
  });

  it("does not let a cached login survive the user being disabled by a reload", async () => {
    const cache = new VerifiedCache();
    assert.equal((await store(cache).verifyPassword("alice@example.test", "alice-pw")).kind, "ok");
    const disabled = usersFileSchema.parse({
      users: input.users.map((u) => (u.username === "Alice@Example.test" ? { ...u, disabled: true } : u)),
    });
    const reloaded = new CredentialStore(disabled, { cache });
    assert.deepEqual(await reloaded.verifyPassword("alice@example.test", "alice-pw"), { kind: "invalid" });
  });

  it("keeps the verified cache across reloads, and a rotated password invalidates it", async () => {
    const cache = new VerifiedCache();
    const slow = await timed(() => store(cache).verifyPassword("alice@example.test", "alice-pw"));
    // The best of five hits: one hit can land on a GC pause or a busy core and look slow.
    let fast = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const hit = await timed(async () =>
        assert.equal((await store(cache).verifyPassword("alice@example.test", "alice-pw")).kind, "ok"),
      );
      fast = Math.min(fast, hit);
    }
    assert.ok(fast * 10 < slow, `reloaded store hit ${fast.toFixed(2)} ms vs ${slow.toFixed(2)} ms`);

    const { password } = await deriveVerifiers("new-pw");
    const next = usersFileSchema.parse({
      users: [{ username: "Alice@Example.test", senders: [], verifiers: { password } }],
    });
    const afterRotation = new CredentialStore(next, { cache });
    assert.deepEqual(await afterRotation.verifyPassword("alice@example.test", "alice-pw"), {
      kind: "invalid",
    });
    assert.equal((await afterRotation.verifyPassword("alice@example.test", "new-pw")).kind, "ok");
  });

  it(`refuses passwords over ${MAX_PASSWORD_BYTES} bytes without hashing them`, async () => {
    const long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    const s = store();
    const cost = await timed(async () =>
      assert.deepEqual(await s.verifyPassword("alice@example.test", long), { kind: "invalid" }),
    );
    const wrong = await timed(() => s.verifyPassword("alice@example.test", "nope"));
    assert.ok(cost * 5 < wrong, `${cost.toFixed(2)} ms vs a full check ${wrong.toFixed(2)} ms`);
  });
});

describe("CredentialStore construction", () => {
  it("does no hashing: a thousand users index in well under the cost of one argon2id", async () => {
    const { password } = await deriveVerifiers("pw");
    const big = usersFileSchema.parse({
      users: Array.from({ length: 1000 }, (_, i) => ({
        username: `user${i}@example.test`,
        senders: [],
        verifiers: { password },
      })),
    });
    const start = performance.now();
    const s = new CredentialStore(big);
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 50, `${elapsed.toFixed(1)} ms`);
    assert.equal(s.lookup("USER999@example.test")?.username, "user999@example.test");
    assert.equal(s.size, 1000);
    assert.equal(CredentialStore.unavailable().size, 0);
  });
});

describe("CredentialStore.unavailable", () => {
  it("answers unavailable to every secret question and knows nobody", async () => {
    const s = CredentialStore.unavailable();
    assert.equal(s.available, false);
    assert.deepEqual(await s.verifyPassword("alice@example.test", "alice-pw"), { kind: "unavailable" });
    assert.deepEqual(await s.scramCredential("alice@example.test"), { kind: "unavailable" });
    assert.deepEqual(await s.cramMd5Secret("alice@example.test"), { kind: "unavailable" });
    assert.equal(s.lookup("alice@example.test"), undefined);
    assert.equal(s.mayAuthorizeAs("alice@example.test", "alice@example.test"), false);
    assert.equal(store().available, true);
  });
});

describe("CredentialStore.scramCredential", () => {
  it("returns the stored credential of a known user", async () => {
    const result = await store().scramCredential("ALICE@example.test");
    assert.equal(result.kind, "found");
    assert.deepEqual(result.kind === "found" && result.credential, file.users[0]?.verifiers.scramSha256);
  });

  it("returns a decoy for an unknown user: stable 16-byte salt per name, common iteration count, fresh keys", async () => {
    const s = store();
    const first = await s.scramCredential("mallory@example.test");
    const again = await s.scramCredential("MALLORY@example.test");
    const other = await s.scramCredential("eve@example.test");
    assert.ok(first.kind === "found" && again.kind === "found" && other.kind === "found");
    assert.equal(first.credential.salt.length, 16);
    assert.deepEqual(first.credential.salt, again.credential.salt);
    assert.notDeepEqual(first.credential.salt, other.credential.salt);
    assert.equal(first.credential.iterations, 8192, "most users here have 8192");
    assert.equal(first.credential.storedKey.length, 32);
    assert.notDeepEqual(first.credential.storedKey, again.credential.storedKey);
  });

  it("defaults decoy iterations to 4096 when no user has SCRAM", async () => {
    const result = await new CredentialStore({ users: [] }).scramCredential("x");
    assert.equal(result.kind === "found" && result.credential.iterations, 4096);
  });

  it("gives a disabled user its real salt and iterations but keys no proof matches", async () => {
    const real = file.users[1]?.verifiers.scramSha256;
    const result = await store().scramCredential("bob@example.test");
    assert.ok(real && result.kind === "found");
    assert.deepEqual([result.credential.salt, result.credential.iterations], [real.salt, real.iterations]);
    assert.notDeepEqual(result.credential.storedKey, real.storedKey);
    assert.notDeepEqual(result.credential.serverKey, real.serverKey);
  });

  it("gives a user without SCRAM verifiers a decoy", async () => {
    const result = await store().scramCredential("legacy-bcrypt@example.test");
    assert.ok(result.kind === "found");
    assert.equal(result.credential.salt.length, 16);
    assert.equal(result.credential.iterations, 8192);
  });
});

describe("CredentialStore.cramMd5Secret", () => {
  it("finds the secret of an enabled user that has one, and nothing otherwise", async () => {
    const s = store();
    const found = await s.cramMd5Secret("alice@EXAMPLE.test");
    assert.equal(found.kind === "found" && found.secret.toString(), "alice-pw");
    for (const name of ["bob@example.test", "carol@example.test", "nobody@example.test"]) {
      assert.deepEqual(await s.cramMd5Secret(name), { kind: "missing" }, name);
    }
  });
});

describe("CredentialStore.mayAuthorizeAs", () => {
  it("allows identities on the user's authorizeFor list (case-insensitive) and the user itself", () => {
    const s = store();
    assert.equal(s.mayAuthorizeAs("alice@example.test", "shared@example.test"), true);
    assert.equal(s.mayAuthorizeAs("ALICE@example.test", "SHARED@EXAMPLE.TEST"), true);
    assert.equal(s.mayAuthorizeAs("alice@example.test", "Alice@Example.test"), true);
  });

  it("refuses anything else, and anyone disabled or unknown", () => {
    const s = store();
    assert.equal(s.mayAuthorizeAs("alice@example.test", "carol@example.test"), false);
    assert.equal(s.mayAuthorizeAs("carol@example.test", "shared@example.test"), false);
    assert.equal(s.mayAuthorizeAs("bob@example.test", "bob@example.test"), false);
    assert.equal(s.mayAuthorizeAs("nobody@example.test", "nobody@example.test"), false);
  });
});

describe("CredentialStore.lookup", () => {
  it("returns the policy view of a user, without verifiers", () => {
    assert.deepEqual(store().lookup("alice@example.test"), {
      username: "Alice@Example.test",
      disabled: false,
      senders: ["alice@example.test"],
      authorizeFor: ["Shared@Example.test"],
      allowedCidrs: ["10.0.0.0/8"],
    });
    assert.equal(store().lookup("bob@example.test")?.disabled, true);
    assert.equal(store().lookup("nobody@example.test"), undefined);
  });
});

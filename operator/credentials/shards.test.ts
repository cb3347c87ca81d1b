// buildCredentialShards without a server: what is derived, what is reused, what each shard holds.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import argon2 from "@node-rs/argon2";
import fc from "fast-check";
import { parse } from "yaml";
import type { SmtpUserSpec } from "../../crds/schema/smtp-user.ts";
import { deriveVerifiers } from "../../gateway/credentials/derive.ts";
import { parseUsersFile, usernameKey, usersFileSchema } from "../../gateway/credentials/users-file.ts";
import { SOURCES_KEY } from "../render/credentials-secrets.ts";
import { keys } from "../render/labels.ts";
import type { CredentialSource, SourceFingerprint } from "./binding.ts";
import { derivationPool } from "./pool.ts";
import { shardOf } from "./shard.ts";
import {
  buildCredentialShards,
  type CredentialShards,
  type Deriver,
  type GatewayCredentialShape,
  type ParsedShard,
  parseShardSecret,
  type UserCredentialInput,
} from "./shards.ts";

const DEFAULT: GatewayCredentialShape = {
  mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN"],
  scramIterations: 4096,
};
const BCRYPT = "{BLF-CRYPT}$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q";

/** The real pool, counting what costs. */
function countingDeriver(inner: Deriver = derivationPool(2)) {
  const calls = { derive: 0, matches: 0 };
  const deriver: Deriver = {
    derive: (password, options) => {
      calls.derive++;
      return inner.derive(password, options);
    },
    matches: (verifiers, password) => {
      calls.matches++;
      return inner.matches(verifiers, password);
    },
  };
  return { deriver, calls };
}

const spec = (username: string, extra: Partial<SmtpUserSpec> = {}) =>
  ({ gatewayRef: { name: "gw" }, allowedSenders: [username], disabled: false, ...extra }) as SmtpUserSpec;

const fingerprint = (resourceVersion: string, secretUid = "uid-1"): SourceFingerprint => ({
  secretUid,
  resourceVersion,
  key: "password",
});

function user(
  username: string,
  source: CredentialSource = { kind: "password", password: `${username}-pw`, fingerprint: fingerprint("1") },
  extra: Partial<SmtpUserSpec> = {},
): UserCredentialInput {
  return { key: usernameKey(username), username, source, user: { spec: spec(username, extra) } };
}

const password = (text: string, resourceVersion = "1"): CredentialSource => ({
  kind: "password",
  password: text,
  fingerprint: fingerprint(resourceVersion),
});

/** The shards as the controller would read them back from the Secrets it wrote. */
function readBack(built: CredentialShards): ParsedShard[] {
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  return [...built.shards.values()].map((s) =>
    parseShardSecret({ data: { [keys.shard]: b64(s.usersYaml), [SOURCES_KEY]: b64(s.sourcesJson) } }),
  );
}

/** A user's written entry, from whichever shard holds it. */
function entryOf(built: CredentialShards, username: string) {
  const shard = built.shards.get(shardOf(usernameKey(username)));
  assert.ok(shard, `no shard for ${username}`);
  const entry = parse(shard.usersYaml).users.find((u: { username: string }) => u.username === username);
  assert.ok(entry, `${username} not in its shard`);
  return entry;
}

describe("buildCredentialShards", () => {
  it("derives new users, then reuses them untouched while their Secrets are unchanged", async () => {
    const users = [user("alice@example.test"), user("bob@example.test"), user("carol@example.test")];
    const first = countingDeriver();
    const built = await buildCredentialShards(DEFAULT, users, [], first.deriver);
    assert.deepEqual([built.derived, built.reused, first.calls.derive], [3, 0, 3]);
    assert.ok([...built.results.values()].every((r) => r.ok && r.changed));

    const again = countingDeriver();
    const rebuilt = await buildCredentialShards(DEFAULT, users, readBack(built), again.deriver);
    assert.deepEqual(again.calls, { derive: 0, matches: 0 }, "no derivation, not even a check");
    assert.deepEqual([rebuilt.derived, rebuilt.reused], [0, 3]);
    assert.deepEqual(rebuilt.shards, built.shards, "byte for byte the same shards");
    assert.ok([...rebuilt.results.values()].every((r) => r.ok && !r.changed));
  });

  it("reuses verifiers after the Secret changed but the password did not, updating only sources.json", async () => {
    const built = await buildCredentialShards(
      DEFAULT,
      [user("alice@example.test", password("same", "1"))],
      [],
      countingDeriver().deriver,
    );
    const { deriver, calls } = countingDeriver();
    const rebuilt = await buildCredentialShards(
      DEFAULT,
      [user("alice@example.test", password("same", "2"))],
      readBack(built),
      deriver,
    );
    assert.deepEqual(calls, { derive: 0, matches: 1 });
    assert.deepEqual(entryOf(rebuilt, "alice@example.test"), entryOf(built, "alice@example.test"));
    const [shard] = rebuilt.shards.values();
    assert.equal(
      JSON.parse(shard?.sourcesJson ?? "")[usernameKey("alice@example.test")].resourceVersion,
      "2",
    );
    assert.deepEqual(rebuilt.results.get("alice@example.test"), { ok: true, changed: false });
  });

  it("keeps a hash of today's argon2id cost in either parameter order, derives one of another cost anew", async () => {
    const users = [user("alice@example.test")];
    const built = await buildCredentialShards(DEFAULT, users, [], countingDeriver().deriver);
    const stored = entryOf(built, "alice@example.test").verifiers.password as string;
    assert.match(stored, /\$m=19456,t=2,p=1\$/);
    /** The built shards with alice's stored hash replaced. */
    const withHash = (hash: string) => {
      const copy = new Map(built.shards);
      for (const [id, shard] of copy)
        copy.set(id, { ...shard, usersYaml: shard.usersYaml.replace(stored, hash) });
      return readBack({ ...built, shards: copy });
    };
    // node-argon2, which earlier versions derived with, wrote the same parameters as m,p,t.
    const reordered = countingDeriver();
    const kept = await buildCredentialShards(
      DEFAULT,
      users,
      withHash(stored.replace("m=19456,t=2,p=1", "m=19456,p=1,t=2")),
      reordered.deriver,
    );
    assert.deepEqual([reordered.calls.derive, kept.reused], [0, 1]);
    const cheaper = await argon2.hash("alice@example.test-pw", {
      memoryCost: 47104,
      timeCost: 1,
      parallelism: 1,
    });
    const other = countingDeriver();
    const rebuilt = await buildCredentialShards(DEFAULT, users, withHash(cheaper), other.deriver);
    assert.deepEqual([other.calls.derive, rebuilt.derived], [1, 1]);
    assert.match(entryOf(rebuilt, "alice@example.test").verifiers.password, /\$m=19456,t=2,p=1\$/);
  });

  it("derives anew when the password changed", async () => {
    const built = await buildCredentialShards(
      DEFAULT,
      [user("alice@example.test", password("old", "1"))],
      [],
      countingDeriver().deriver,
    );
    const { deriver, calls } = countingDeriver();
    const rebuilt = await buildCredentialShards(
      DEFAULT,
      [user("alice@example.test", password("new", "2"))],
      readBack(built),
      deriver,
    );
    assert.deepEqual(calls, { derive: 1, matches: 1 });
    const [shard] = readBack(rebuilt);
    const stored = shard?.users.get("alice@example.test")?.parsed;
    assert.ok(stored);
    assert.equal(await derivationPool(1).matches(stored, "new"), true);
    assert.deepEqual(rebuilt.results.get("alice@example.test"), { ok: true, changed: true });
  });

  it("holds exactly the verifiers the gateway's mechanisms check, deriving only when one is missing", async () => {
    const alice = user("alice@example.test", password("pw"));
    const kinds = (built: CredentialShards) => Object.keys(entryOf(built, "alice@example.test").verifiers);
    const step = async (shape: GatewayCredentialShape, previous: CredentialShards | undefined) => {
      const { deriver, calls } = countingDeriver();
      const built = await buildCredentialShards(shape, [alice], previous ? readBack(previous) : [], deriver);
      return { built, derived: calls.derive };
    };
    const plain = await step({ mechanisms: ["PLAIN"], scramIterations: 4096 }, undefined);
    assert.deepEqual(kinds(plain.built), ["password"]);
    const all = await step(
      { mechanisms: ["PLAIN", "SCRAM-SHA-256", "CRAM-MD5"], scramIterations: 4096 },
      plain.built,
    );
    assert.deepEqual([kinds(all.built), all.derived], [["password", "scramSha256", "cramMd5"], 1]);
    const scramOnly = await step(
      { mechanisms: ["SCRAM-SHA-256", "XOAUTH2"], scramIterations: 4096 },
      all.built,
    );
    assert.deepEqual([kinds(scramOnly.built), scramOnly.derived], [["scramSha256"], 0]);
    assert.deepEqual(
      entryOf(scramOnly.built, "alice@example.test").verifiers.scramSha256,
      entryOf(all.built, "alice@example.test").verifiers.scramSha256,
    );
    const more = await step({ mechanisms: ["SCRAM-SHA-256"], scramIterations: 10_000 }, scramOnly.built);
    assert.equal(more.derived, 1, "new iterations need the password");
    assert.equal(entryOf(more.built, "alice@example.test").verifiers.scramSha256.iterations, 10_000);
    assert.deepEqual(more.built.results.get("alice@example.test"), { ok: true, changed: false });
  });

  it("copies a {SCHEME} hash verbatim; an invalid one fails that user alone", async () => {
    const hash = (text: string): CredentialSource => ({
      kind: "hash",
      hash: text,
      fingerprint: fingerprint("1"),
    });
    const { deriver, calls } = countingDeriver();
    const built = await buildCredentialShards(
      DEFAULT,
      [
        user("alice@example.test", hash(BCRYPT)),
        user("bob@example.test", hash("{MD5}abc")),
        user("carol@example.test"),
      ],
      [],
      deriver,
    );
    assert.equal(calls.derive, 1, "only carol");
    assert.deepEqual(entryOf(built, "alice@example.test").verifiers, { password: BCRYPT });
    const bob = built.results.get("bob@example.test");
    assert.ok(bob && !bob.ok);
    assert.equal(bob.reason, "InvalidCredentials");
    assert.match(bob.message, /unsupported password hash scheme \{MD5\}/);
    assert.ok(![...built.shards.values()].some((s) => s.usersYaml.includes("bob@")));
    assert.deepEqual(built.results.get("carol@example.test"), { ok: true, changed: true });

    const scramOnly = await buildCredentialShards(
      { mechanisms: ["SCRAM-SHA-256"], scramIterations: 4096 },
      [user("alice@example.test", hash(BCRYPT))],
      [],
      deriver,
    );
    assert.match(
      (scramOnly.results.get("alice@example.test") as { message: string }).message,
      /serves only PLAIN and LOGIN/,
    );
  });

  it("treats a corrupt previous shard as none: derives anew, never throws", async () => {
    const garbage: ParsedShard[] = [
      parseShardSecret(undefined),
      parseShardSecret({ data: { [keys.shard]: "%%% not base64", [SOURCES_KEY]: "e30=" } }),
      parseShardSecret({ data: { [keys.shard]: Buffer.from("users: 7").toString("base64") } }),
      parseShardSecret({
        data: {
          [keys.shard]: Buffer.from(
            "users:\n  - username: alice@example.test\n    verifiers: {scramSha256: 1}\n",
          ).toString("base64"),
          [SOURCES_KEY]: Buffer.from("[not json").toString("base64"),
        },
      }),
    ];
    assert.ok(garbage.every((shard) => shard.users.size === 0));
    const { deriver, calls } = countingDeriver();
    await buildCredentialShards(DEFAULT, [user("alice@example.test")], garbage, deriver);
    assert.equal(calls.derive, 1);
  });

  it("maps the user's spec into its entry", async () => {
    const built = await buildCredentialShards(
      { mechanisms: ["PLAIN"], scramIterations: 4096 },
      [
        user("dave@example.test", password("pw"), {
          disabled: true,
          allowedSourceRanges: ["10.0.0.0/8"],
          allowedSenders: ["*@example.test"],
          rateLimit: { messages: 5, window: "1h30m" },
        }),
      ],
      [],
      countingDeriver().deriver,
    );
    const { verifiers, ...entry } = entryOf(built, "dave@example.test");
    assert.deepEqual(entry, {
      username: "dave@example.test",
      disabled: true,
      senders: ["*@example.test"],
      allowedCidrs: ["10.0.0.0/8"],
      rateLimit: { messages: 5, windowSeconds: 5400 },
    });
  });

  it("reports a shard above 768 KiB as a problem and returns no shard to write", async () => {
    const senders = Array.from({ length: 256 }, (_, i) => `sender-${i}-${"x".repeat(40)}@example.test`);
    const crowd: UserCredentialInput[] = [];
    for (let i = 0; crowd.length < 70; i++) {
      const name = `u${i}@example.test`;
      if (shardOf(usernameKey(name)) === 5)
        crowd.push(
          user(
            name,
            { kind: "hash", hash: BCRYPT, fingerprint: fingerprint("1") },
            { allowedSenders: senders },
          ),
        );
    }
    const built = await buildCredentialShards(DEFAULT, crowd, [], countingDeriver().deriver);
    assert.equal(built.shards.size, 0);
    assert.match(built.problem ?? "", /^credentials shard 05 would be/);
  });

  it("every shard parses with the users-file schema and holds exactly its users (property)", async () => {
    // Real verifiers, derived once and handed out: the property is about placement and format.
    const full = await deriveVerifiers("pw", { mechanisms: ["PLAIN", "SCRAM-SHA-256", "CRAM-MD5"] });
    const fast: Deriver = {
      derive: async (_password, options) =>
        Object.fromEntries(
          Object.entries(full).filter(
            ([name]) => name !== "cramMd5" || options.mechanisms?.includes("CRAM-MD5"),
          ),
        ),
      matches: async () => false,
    };
    const identity = fc.stringMatching(/^[^\s\p{Cc}]{1,40}$/u);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(identity, { maxLength: 60, selector: usernameKey }),
        fc.subarray(["PLAIN", "LOGIN", "SCRAM-SHA-256", "CRAM-MD5"], { minLength: 1 }),
        async (names, mechanisms) => {
          const source = (i: number) =>
            i % 3 === 0
              ? ({ kind: "hash", hash: BCRYPT, fingerprint: fingerprint("1") } as const)
              : password("pw");
          const users = names.map((name, i) =>
            user(name, source(i), { allowedSenders: ["app@example.test"] }),
          );
          const built = await buildCredentialShards({ mechanisms, scramIterations: 4096 }, users, [], fast);
          const placed = new Map<string, number>();
          for (const [index, shard] of built.shards) {
            const file = parseUsersFile(shard.usersYaml, `users-${index}.yaml`);
            assert.equal(usersFileSchema.safeParse(parse(shard.usersYaml)).success, true);
            // (Object.keys would put integer-like keys first: compare as sets.)
            const sources = Object.keys(JSON.parse(shard.sourcesJson)).sort();
            assert.deepEqual(sources, file.users.map((u) => usernameKey(u.username)).sort());
            for (const u of file.users) {
              const key = usernameKey(u.username);
              assert.equal(placed.has(key), false, "in two shards");
              assert.equal(shardOf(key), index);
              placed.set(key, index);
            }
          }
          for (const u of users) assert.equal(placed.has(u.key), built.results.get(u.key)?.ok === true);
          assert.equal(built.results.size, users.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});

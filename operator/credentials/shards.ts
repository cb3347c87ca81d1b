// The users bound to one gateway -> its verifier shards: this module's entry point. Pure but for the
// deriver: the same users, previous shards and gateway give the same shard texts (up to the fresh
// salts of users derived anew), so the controller applies only shards that really changed.
import type { SmtpUserSpec } from "../../crds/schema/smtp-user.ts";
import type { BoundUser, SourceFingerprint } from "./binding.ts";
import type { Deriver } from "./pool.ts";
import type { ParsedShard, PreviousUser } from "./previous-shard.ts";
import { renderShard, ShardTooLargeError, shardOf } from "./shard.ts";
import { renderSources } from "./sources.ts";
import { type ShardUser, usersFileEntry } from "./user-entry.ts";
import { type GatewayCredentialShape, userVerifiers } from "./user-verifiers.ts";

export type { Deriver } from "./pool.ts";
export { derivationPool } from "./pool.ts";
export type { ParsedShard } from "./previous-shard.ts";
export { parseShardSecret } from "./previous-shard.ts";
export type { GatewayCredentialShape } from "./user-verifiers.ts";

/** What the shards need of a bound user (binding.ts's BoundUser has it all). */
export type UserCredentialInput = Pick<BoundUser, "key" | "username" | "source"> & {
  user: { spec: SmtpUserSpec };
};

export type CredentialResult =
  | { ok: true /** the credential itself changed, so it was derived or copied anew */; changed: boolean }
  | { ok: false; reason: "InvalidCredentials"; message: string };

export interface CredentialShards {
  /** Only shards with users; a shard index missing here has none (its Secret can go). */
  shards: Map<number, { usersYaml: string; sourcesJson: string }>;
  /** Every input user, by key: on a shard, or why not. */
  results: Map<string, CredentialResult>;
  /** Users whose verifiers were derived from their password now (the costly case). */
  derived: number;
  /** Users whose stored verifiers were kept, without deriving. */
  reused: number;
  /** Set when no shard may be written (one would be too large); `shards` is then empty. */
  problem?: string;
}

function previousUsers(previous: readonly ParsedShard[]): Map<string, PreviousUser> {
  const users = new Map<string, PreviousUser>();
  for (const shard of previous) {
    for (const [key, user] of shard.users) if (!users.has(key)) users.set(key, user);
  }
  return users;
}

interface ShardContent {
  users: Map<string, ShardUser>;
  sources: Map<string, SourceFingerprint>;
}

function render(byShard: ReadonlyMap<number, ShardContent>): CredentialShards["shards"] {
  const shards = new Map<number, { usersYaml: string; sourcesJson: string }>();
  for (const [index, { users, sources }] of [...byShard].sort(([a], [b]) => a - b)) {
    shards.set(index, { usersYaml: renderShard(index, users), sourcesJson: renderSources(sources) });
  }
  return shards;
}

/**
 * Builds every shard of a gateway. Users must have distinct keys (binding resolves DuplicateUsername
 * first). A user whose credential is unusable is left out with an InvalidCredentials result and never
 * affects the others. A shard above MAX_SHARD_BYTES sets `problem` and no shard is returned, so the
 * caller writes (and deletes) nothing.
 */
export async function buildCredentialShards(
  gateway: GatewayCredentialShape,
  users: readonly UserCredentialInput[],
  previous: readonly ParsedShard[],
  deriver: Deriver,
): Promise<CredentialShards> {
  const keys = new Set(users.map((user) => user.key));
  if (keys.size !== users.length) throw new Error("buildCredentialShards: two users share a key");
  const before = previousUsers(previous);
  // All at once: the deriver bounds how many run on the threadpool.
  const outcomes = await Promise.all(
    users.map(async (user) => ({
      user,
      outcome: await userVerifiers(gateway, user.source, before.get(user.key), deriver),
    })),
  );

  const byShard = new Map<number, ShardContent>();
  const results = new Map<string, CredentialResult>();
  let derived = 0;
  let reused = 0;
  for (const { user, outcome } of outcomes) {
    if (!outcome.ok) {
      results.set(user.key, { ok: false, reason: "InvalidCredentials", message: outcome.message });
      continue;
    }
    results.set(user.key, { ok: true, changed: outcome.changed });
    if (outcome.work === "derived") derived++;
    if (outcome.work === "reused") reused++;
    const index = shardOf(user.key);
    const shard = byShard.get(index) ?? { users: new Map(), sources: new Map() };
    byShard.set(index, shard);
    shard.users.set(user.key, usersFileEntry(user.username, user.user.spec, outcome.verifiers));
    shard.sources.set(user.key, user.source.fingerprint);
  }

  try {
    return { shards: render(byShard), results, derived, reused };
  } catch (error) {
    if (!(error instanceof ShardTooLargeError)) throw error;
    return { shards: new Map(), results, derived, reused, problem: error.message };
  }
}

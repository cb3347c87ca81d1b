// Which shard a user lives in, and one shard's users file. A stable hash of the user's key spreads
// users over the shard Secrets, so one password change rewrites exactly one of them; the text is
// deterministic (users sorted by key), so an unchanged shard renders byte for byte the same and
// server-side apply has nothing to write.
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import type { UsersFileInput } from "../../gateway/credentials/users-file.ts";
import { SHARD_COUNT } from "../render/labels.ts";
import type { ShardUser } from "./user-entry.ts";

/** The shard (0 … SHARD_COUNT-1) of a user, from its usernameKey. */
export function shardOf(key: string): number {
  return createHash("sha256").update(key, "utf8").digest().readUInt32BE(0) % SHARD_COUNT;
}

/** Well below the API server's 1 MiB object limit, leaving room for sources.json and metadata. */
export const MAX_SHARD_BYTES = 768 * 1024;

export class ShardTooLargeError extends Error {
  override name = "ShardTooLargeError";
  readonly shard: number;
  readonly bytes: number;

  constructor(shard: number, bytes: number) {
    super(
      `credentials shard ${String(shard).padStart(2, "0")} would be ${Math.ceil(bytes / 1024)} KiB, above the ` +
        `${MAX_SHARD_BYTES / 1024} KiB limit: too many users (or too many senders per user) on this gateway`,
    );
    this.shard = shard;
    this.bytes = bytes;
  }
}

/** A shard's users.yaml from its users by key: sorted by key, one line per value (no folding).
 *  Throws ShardTooLargeError above MAX_SHARD_BYTES. */
export function renderShard(shard: number, users: ReadonlyMap<string, ShardUser>): string {
  const sorted = [...users].sort(([a], [b]) => compare(a, b)).map(([, user]) => user);
  // No aliases: a senders list shared by two entries must still be written out for each.
  const text = stringify({ users: sorted } satisfies UsersFileInput, {
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_SHARD_BYTES) throw new ShardTooLargeError(shard, bytes);
  return text;
}

/** Code-unit order, the same in every locale. */
export const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

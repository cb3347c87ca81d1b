// sources.json, the shard Secret key that is never projected into pods: for each user, which
// version of which Secret key its verifiers were derived from. Only identifiers, nothing secret and
// nothing derived from a password, yet enough to tell "the same password as last time" without
// hashing it again.
import { z } from "zod";
import type { SourceFingerprint } from "./binding.ts";
import { compare } from "./shard.ts";

/** The user's password (or hash) Secret key as last seen: any change to that Secret changes it. */
export const sourceFingerprintSchema = z.object({
  secretUid: z.string(),
  resourceVersion: z.string(),
  key: z.string(),
}) satisfies z.ZodType<SourceFingerprint>;

export function sameSource(a: SourceFingerprint | undefined, b: SourceFingerprint): boolean {
  return a?.secretUid === b.secretUid && a.resourceVersion === b.resourceVersion && a.key === b.key;
}

/** The JSON text for a shard's users, sorted by user key, fields in a fixed order. */
export function renderSources(sources: ReadonlyMap<string, SourceFingerprint>): string {
  const entries = [...sources].sort(([a], [b]) => compare(a, b));
  return `${JSON.stringify(
    Object.fromEntries(
      entries.map(([key, { secretUid, resourceVersion, key: secretKey }]) => [
        key,
        { secretUid, resourceVersion, key: secretKey },
      ]),
    ),
    null,
    1,
  )}\n`;
}

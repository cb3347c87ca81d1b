// What an existing shard Secret already holds: each user's verifiers as written (to reuse verbatim)
// and decoded (to check against a password), and the source they were derived from. Whatever does
// not parse is left out, never thrown: a corrupt previous shard only means deriving anew.
import { parse } from "yaml";
import { z } from "zod";
import {
  type UserEntry,
  usernameKey,
  type VerifiersInput,
  verifiersSchema,
} from "../../gateway/credentials/users-file.ts";
import { SOURCES_KEY } from "../render/credentials-secrets.ts";
import { keys } from "../render/labels.ts";
import type { SourceFingerprint } from "./binding.ts";
import { sourceFingerprintSchema } from "./sources.ts";

export interface PreviousUser {
  /** As written in the shard: copied as they are when reused. */
  written: VerifiersInput;
  parsed: UserEntry["verifiers"];
  /** Absent when sources.json lacks the user (or is corrupt): the password decides. */
  source: SourceFingerprint | undefined;
}

export interface ParsedShard {
  /** By usernameKey. */
  users: Map<string, PreviousUser>;
}

const writtenUser = z.object({ username: z.string(), verifiers: z.unknown() });

function decode(value: string | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
}

function parseOr<T>(text: string | undefined, parseText: (text: string) => T, fallback: T): T {
  if (text === undefined) return fallback;
  try {
    return parseText(text);
  } catch {
    return fallback;
  }
}

/** A cached shard Secret (its `data`, base64 values as the API returns them) as a ParsedShard; no
 *  Secret is a shard without users. */
export function parseShardSecret(
  secret: { data?: Readonly<Record<string, string>> } | undefined,
): ParsedShard {
  const data = secret?.data;
  const document: unknown = parseOr(decode(data?.[keys.shard]), (text) => parse(text), undefined);
  const sourcesDocument: unknown = parseOr(decode(data?.[SOURCES_KEY]), JSON.parse, undefined);
  const sources = z.record(z.string(), z.unknown()).safeParse(sourcesDocument).data ?? {};
  const list = z.object({ users: z.array(z.unknown()) }).safeParse(document).data?.users ?? [];
  const users = new Map<string, PreviousUser>();
  for (const item of list) {
    const user = writtenUser.safeParse(item).data;
    const verifiers = user && verifiersSchema.safeParse(user.verifiers);
    if (!user || !verifiers?.success) continue;
    const key = usernameKey(user.username);
    if (users.has(key)) continue;
    users.set(key, {
      written: user.verifiers as VerifiersInput,
      parsed: verifiers.data,
      source: sourceFingerprintSchema.safeParse(sources[key]).data,
    });
  }
  return { users };
}

// The credentials file (`users.yaml`, a Secret key in Kubernetes): its schema and its parser. Parsing
// decodes everything a login needs (hash scheme, SCRAM keys, CRAM-MD5 secret) so that a file the gateway
// could not use is refused as a whole at load time, naming the field, and never half-applied.
// Error messages name fields, never values: the file holds secrets.
import { LineCounter, parse, YAMLError } from "yaml";
import { z } from "zod";
import { RateLimitSchema } from "../policy/rate-limit-schema.ts";
import { parsePasswordHash } from "./password-hash.ts";
import { SCRAM_MIN_ITERATIONS } from "./scram-credential.ts";

/**
 * The one key an identity is looked up and counted under — in the store, the brute-force windows, the
 * known-good table, rate limits and transaction caps — so that no spelling of a name reaches the account
 * while escaping its counters. NFKC folds Unicode normal forms and compatibility variants (a decomposed
 * "josé", fullwidth letters); upper- then lower-casing approximates Unicode full case folding ("ß" and
 * "SS" meet at "ss", final sigma at "σ"), which lower-casing alone does not; the final NFKC puts back
 * into normal form what case mapping took out of it, so the key of a key is itself.
 */
export function usernameKey(username: string): string {
  // Lower, upper, lower: the capital sharp s (ẞ) lowers to ß, which only upper-casing turns into SS,
  // so one round trip would give ẞ and ß different keys (ß's is "ss").
  return username.normalize("NFKC").toLowerCase().toUpperCase().toLowerCase().normalize("NFKC");
}

// Whitespace and control characters (CR, LF, NUL above all) have no place in an identity that ends up
// in SMTP replies, Received headers and logs.
const identity = z
  .string()
  .min(1)
  .max(320)
  .regex(/^[^\s\p{Cc}]+$/u, "must not contain whitespace or control characters");
const address = z
  .string()
  .max(320)
  .regex(/^[^\s\p{Cc}]+@[^\s\p{Cc}@]+$/u, "must be an address or *@domain");
const cidr = z.union([z.cidrv4(), z.cidrv6()], { error: "must be an IPv4 or IPv6 CIDR block" });

function base64Bytes(length?: number) {
  return z
    .base64()
    .min(1)
    .transform((text) => Buffer.from(text, "base64"))
    .refine((bytes) => length === undefined || bytes.length === length, `must decode to ${length} bytes`);
}

const scramSha256Schema = z.strictObject({
  iterations: z.number().int().min(SCRAM_MIN_ITERATIONS),
  salt: base64Bytes(),
  storedKey: base64Bytes(32),
  serverKey: base64Bytes(32),
});

const passwordSchema = z.string().transform((stored, context) => {
  try {
    return parsePasswordHash(stored);
  } catch (error) {
    context.issues.push({ code: "custom", message: (error as Error).message, input: stored });
    return z.NEVER;
  }
});

export const verifiersSchema = z
  .strictObject({
    password: passwordSchema.optional(),
    scramSha256: scramSha256Schema.optional(),
    /** Plaintext-equivalent: only where the gateway enables CRAM-MD5. */
    cramMd5: base64Bytes().optional(),
  })
  .refine(
    (v) => v.password !== undefined || v.scramSha256 !== undefined || v.cramMd5 !== undefined,
    "at least one verifier is required",
  );

const userSchema = z.strictObject({
  username: identity,
  disabled: z.boolean().default(false),
  senders: z.array(address),
  authorizeFor: z.array(identity).default([]),
  allowedCidrs: z.array(cidr).default([]),
  /** Replaces the gateway's default send limits for this user. */
  rateLimit: RateLimitSchema.optional(),
  verifiers: verifiersSchema,
});

export const usersFileSchema = z.strictObject({
  users: z.array(userSchema).superRefine((users, context) => {
    const firstIndex = new Map<string, number>();
    users.forEach((user, index) => {
      const key = usernameKey(user.username);
      const first = firstIndex.get(key);
      if (first === undefined) firstIndex.set(key, index);
      else {
        context.addIssue({
          code: "custom",
          path: [index, "username"],
          message: `duplicate of users[${first}].username (user names are case-insensitive)`,
        });
      }
    });
  }),
});

/** The file as written (what the operator renders). */
export type UsersFileInput = z.input<typeof usersFileSchema>;
export type VerifiersInput = z.input<typeof verifiersSchema>;
/** The file as parsed: hashes parsed, base64 decoded, defaults applied. */
export type UsersFile = z.output<typeof usersFileSchema>;
export type UserEntry = UsersFile["users"][number];

/** Parses and validates the YAML text of a credentials file; `source` (its path) starts every error. */
export function parseUsersFile(text: string, source: string): UsersFile {
  const lineCounter = new LineCounter();
  let document: unknown;
  try {
    // prettyErrors off: the pretty form quotes the offending source line, which may hold a secret.
    document = parse(text, { prettyErrors: false, lineCounter });
  } catch (error) {
    if (!(error instanceof YAMLError))
      throw new Error(`${source}: invalid YAML: ${(error as Error).message}`);
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new Error(`${source}: invalid YAML at line ${line}, column ${col}: ${error.message}`);
  }
  const result = usersFileSchema.safeParse(document);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    issue.path.length > 0 ? `${z.core.toDotPath(issue.path)}: ${issue.message}` : issue.message,
  );
  throw new Error(`${source}: ${problems.join("; ")}`);
}

/** Several parsed users files as one (the operator's shards); a user name in two of them refuses the
 *  merge, naming both files: which entry wins would otherwise depend on the order files are read in. */
export function mergeUsersFiles(files: readonly { source: string; file: UsersFile }[]): UsersFile {
  const seen = new Map<string, string>();
  const users: UserEntry[] = [];
  for (const { source, file } of files) {
    file.users.forEach((user, index) => {
      const key = usernameKey(user.username);
      const where = `${source}: users[${index}].username`;
      const first = seen.get(key);
      if (first !== undefined) {
        throw new Error(`${where}: duplicate of ${first} (user names are case-insensitive)`);
      }
      seen.set(key, where);
      users.push(user);
    });
  }
  return { users };
}

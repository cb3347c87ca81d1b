// Password hashes at rest: the gateway's own argon2id (PHC string) plus the Dovecot `{SCHEME}` forms that
// existing user bases migrate with. Parsing happens when the credentials file is loaded, so a hash the
// gateway cannot verify refuses the file instead of silently failing every login for that user.
import argon2, { type Algorithm } from "@node-rs/argon2";
import { threadpoolThreads } from "../runtime/threadpool.ts";
import { ConcurrencyLimit } from "./concurrency-limit.ts";
import { verifyOnWorker } from "./migration-hashes.ts";

export type PasswordScheme = "argon2id" | "bcrypt" | "sha512-crypt";

/** A stored hash the gateway knows how to verify. `stored` is the string exactly as written in the file
 *  (what the verified-credential cache binds to); `digest` is it without any Dovecot `{SCHEME}` prefix. */
export interface PasswordHash {
  scheme: PasswordScheme;
  stored: string;
  digest: string;
  /** Scheme and cost parameters, e.g. `argon2id m=19456,t=2,p=1`: hashes with equal `cost` take
   *  equally long to check (what failure timing is measured by). */
  cost: string;
}

/** OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane. */
export const ARGON2ID_PARAMETERS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** The `cost` of a hash with those parameters: one the operator need not derive again. */
export const ARGON2ID_COST = `argon2id m=${ARGON2ID_PARAMETERS.memoryCost},t=${ARGON2ID_PARAMETERS.timeCost},p=${ARGON2ID_PARAMETERS.parallelism}`;

/** `Algorithm.Argon2id`: the enum is declared `const`, which isolated modules cannot read. */
const ARGON2ID_ALGORITHM = 2 satisfies Algorithm;

/** The OWASP cheat sheet's equivalent minimum argon2id configurations (memory in KiB, passes): a stored
 *  hash must reach at least one of them in both memory and passes, or it is refused at load. A weaker
 *  hash is an offline-guessing gift to whoever reads the Secret, and would also make its user's failed
 *  logins cheaper than everyone else's. */
export const ARGON2ID_MINIMUMS: readonly { memory: number; passes: number }[] = [
  { memory: 47104, passes: 1 },
  { memory: 19456, passes: 2 },
  { memory: 12288, passes: 3 },
  { memory: 9216, passes: 4 },
  { memory: 7168, passes: 5 },
];

/** The most a stored argon2id hash may make the gateway do per check, since any client can make it
 *  check a user's hash by naming the user: 256 MiB of memory, and 16 times the work (m × t) of the
 *  parameters above. */
const ARGON2ID_MAX_MEMORY = 262_144;
const ARGON2ID_MAX_WORK = 16 * ARGON2ID_PARAMETERS.memoryCost * ARGON2ID_PARAMETERS.timeCost;

// Parameter order varies between writers (libargon2, Dovecot and @node-rs/argon2: m,t,p; node-argon2,
// which wrote the hashes of earlier Postern versions: m,p,t). PHC numbers have no leading zeros, and
// salt and hash are canonical unpadded base64: the verifier refuses anything else, so the loader does.
const PHC_NUMBER = "(?:0|[1-9]\\d{0,9})";
const ARGON2ID = new RegExp(
  `^\\$argon2id\\$v=19\\$([mtp]=${PHC_NUMBER}(?:,[mtp]=${PHC_NUMBER}){2})\\$([A-Za-z0-9+/]+)\\$([A-Za-z0-9+/]+)$`,
);

/** The octets an unpadded base64 field decodes to, or -1 when it is not the one canonical spelling of them. */
function canonicalBase64Length(field: string): number {
  const bytes = Buffer.from(field, "base64");
  return bytes.toString("base64").replace(/=+$/, "") === field ? bytes.length : -1;
}

// Migration schemes run in JavaScript (bcryptjs, unixcrypt; on a worker thread: migration-hashes.ts),
// and any client can make the gateway verify one by naming its user, so their cost is capped: bcrypt
// at cost 12, SHA512-CRYPT at 10,000 rounds (Dovecot's default is 5,000). Migrate such users to
// argon2id.
const BCRYPT = /^\$2[aby]\$(0[4-9]|1[0-2])\$[./A-Za-z0-9]{53}$/;
const SHA512_CRYPT = /^\$6\$(?:rounds=(\d{1,9})\$)?[./A-Za-z0-9]{0,16}\$[./A-Za-z0-9]{86}$/;

// glibc's bounds for `rounds=`; outside them crypt(3) silently clamps, so the stored string could never match.
const SHA512_CRYPT_MIN_ROUNDS = 1000;
const SHA512_CRYPT_MAX_ROUNDS = 10_000;

// Dovecot matches scheme names case-insensitively.
const DOVECOT_PREFIXES = new Map<string, PasswordScheme>([
  ["{ARGON2ID}", "argon2id"],
  ["{BLF-CRYPT}", "bcrypt"],
  ["{SHA512-CRYPT}", "sha512-crypt"],
]);

function schemeOf(prefix: string | undefined, digest: string): PasswordScheme | undefined {
  if (prefix !== undefined) return DOVECOT_PREFIXES.get(prefix.toUpperCase());
  return digest.startsWith("$argon2id$") ? "argon2id" : undefined;
}

/** Parses a stored hash; throws an Error naming the problem (never echoing the hash) when unsupported. */
export function parsePasswordHash(stored: string): PasswordHash {
  const prefix = /^\{[A-Za-z0-9.-]+\}/.exec(stored)?.[0];
  const digest = prefix === undefined ? stored : stored.slice(prefix.length);
  const scheme = schemeOf(prefix, digest);
  if (scheme === undefined) {
    throw new Error(
      prefix === undefined
        ? "unsupported password hash: expected a $argon2id$ PHC string or a {ARGON2ID}, {BLF-CRYPT} or {SHA512-CRYPT} hash"
        : `unsupported password hash scheme ${prefix}: expected {ARGON2ID}, {BLF-CRYPT} or {SHA512-CRYPT}`,
    );
  }
  return { scheme, stored, digest, cost: `${scheme} ${checkDigest(scheme, digest)}` };
}

/** Checks the digest of a scheme; returns its cost parameters. */
function checkDigest(scheme: PasswordScheme, digest: string): string {
  switch (scheme) {
    case "argon2id": {
      const [, list = "", salt = "", output = ""] = ARGON2ID.exec(digest) ?? [];
      const parameter = (name: string) => Number(new RegExp(`(?:^|,)${name}=(\\d+)`).exec(list)?.[1]);
      const [memory, time, lanes] = [parameter("m"), parameter("t"), parameter("p")];
      const [saltBytes, outputBytes] = [canonicalBase64Length(salt), canonicalBase64Length(output)];
      // Argon2 (RFC 9106 §3.1): t >= 1, p >= 1, m >= 8p KiB; the verifier takes at most 255 lanes and a
      // salt of 8 to 64 octets. A hash under 16 octets would let wrong passwords match by chance. NaN
      // (a missing or repeated name) fails too.
      const wellFormed =
        time >= 1 &&
        lanes >= 1 &&
        lanes <= 255 &&
        memory >= 8 * lanes &&
        saltBytes >= 8 &&
        saltBytes <= 64 &&
        outputBytes >= 16 &&
        outputBytes <= 64;
      if (!wellFormed) {
        throw new Error(
          "malformed argon2id hash: expected $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>",
        );
      }
      if (!ARGON2ID_MINIMUMS.some((min) => memory >= min.memory && time >= min.passes)) {
        throw new Error(
          `argon2id hash below OWASP's minimum cost (m=${memory},t=${time}): needs m>=19456,t>=2 or an equivalent (m>=47104,t>=1; m>=12288,t>=3; m>=9216,t>=4; m>=7168,t>=5); rehash with postern-gateway verifiers`,
        );
      }
      if (memory > ARGON2ID_MAX_MEMORY || memory * time > ARGON2ID_MAX_WORK) {
        throw new Error(
          `argon2id hash above the gateway's maximum cost (m=${memory},t=${time}): needs m<=${ARGON2ID_MAX_MEMORY} and m*t<=${ARGON2ID_MAX_WORK}, since any client can make the gateway check a user's hash; rehash with postern-gateway verifiers`,
        );
      }
      return `m=${memory},t=${time},p=${lanes}`;
    }
    case "bcrypt": {
      const cost = BCRYPT.exec(digest)?.[1];
      if (cost === undefined) {
        throw new Error("malformed bcrypt hash: expected $2y$<cost 04-12>$<53 characters>");
      }
      return `cost=${Number(cost)}`;
    }
    case "sha512-crypt": {
      const match = SHA512_CRYPT.exec(digest);
      const rounds = match?.[1] === undefined ? 5000 : Number(match[1]);
      if (!match || rounds < SHA512_CRYPT_MIN_ROUNDS || rounds > SHA512_CRYPT_MAX_ROUNDS) {
        throw new Error(
          "malformed SHA512-CRYPT hash: expected $6$[rounds=N$]<salt>$<86 characters>, 1000 <= N <= 10000",
        );
      }
      return `rounds=${rounds}`;
    }
  }
}

/** argon2id computations handed to libuv's threadpool at once: one per thread, and two queued so a
 *  thread never waits for the event loop to hand it the next (runtime/threadpool.ts). Each works
 *  through 19 MiB or more: run on more threads than cores, every one of them is slower. Sized at
 *  first use, from the threadpool the process set up by then (the gateway's CLI: one thread per core;
 *  the operator's: two per derivation slot and four more). */
let slots: ConcurrencyLimit | undefined;
export function argon2Slots(): ConcurrencyLimit {
  slots ??= new ConcurrencyLimit(threadpoolThreads() + 2);
  return slots;
}

/** Checks a password against a parsed hash. Every scheme compares in constant time inside its library. */
export async function verifyPasswordHash(hash: PasswordHash, password: string): Promise<boolean> {
  switch (hash.scheme) {
    case "argon2id":
      return argon2Slots().run(() => argon2.verify(hash.digest, password));
    case "bcrypt":
    case "sha512-crypt":
      return verifyOnWorker(hash.scheme, hash.digest, password);
  }
}

/** Hashes a password for storage: an argon2id PHC string with the OWASP parameters and a random salt. */
export function hashPassword(password: string): Promise<string> {
  return argon2Slots().run(() =>
    argon2.hash(password, { algorithm: ARGON2ID_ALGORITHM, ...ARGON2ID_PARAMETERS }),
  );
}

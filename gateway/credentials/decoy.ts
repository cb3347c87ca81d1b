// Stand-ins for users who do not exist (or lack a verifier), so that an attacker probing user names sees
// the same work, the same replies and the same SCRAM parameters as for a real user with a wrong password.
import { createHmac, randomBytes } from "node:crypto";
import type { ScramCredential } from "../sasl/mechanism.ts";
import { hashPassword, type PasswordHash, parsePasswordHash } from "./password-hash.ts";
import { usernameKey } from "./users-file.ts";

// Decoy salts are stable for a name (a real user's salt does not change between attempts either) but
// cannot be predicted or precomputed from outside. Without a configured key (auth.scramDecoyKeyFile)
// the key is per process, so replicas and restarts would each answer an unknown name differently.
const processDecoyKey = randomBytes(32);
const DECOY_SALT_BYTES = 16;
export const DECOY_KEY_BYTES = 32;

let decoyHash: Promise<PasswordHash> | undefined;

/** An argon2id hash with the same parameters as real ones, of a password nobody knows. Computed on first
 *  use and kept for the life of the process. */
export function decoyPasswordHash(): Promise<PasswordHash> {
  decoyHash ??= hashPassword(randomBytes(32).toString("base64")).then(parsePasswordHash);
  return decoyHash;
}

/** The contents of a decoy key file: base64 of 32 bytes, surrounding whitespace ignored. Errors never
 *  echo the text (it is a secret). */
export function parseDecoyKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== DECOY_KEY_BYTES) {
    throw new Error(`must be base64 of ${DECOY_KEY_BYTES} bytes`);
  }
  return key;
}

/** A SCRAM credential for an unknown user: deterministic salt, keys nobody can produce a proof for. */
export function decoyScramCredential(
  username: string,
  iterations: number,
  key: Buffer = processDecoyKey,
): ScramCredential {
  const salt = createHmac("sha256", key).update(usernameKey(username)).digest().subarray(0, DECOY_SALT_BYTES);
  return unprovable({ salt, iterations });
}

/** The given salt and iterations with fresh random keys: the exchange proceeds and no proof matches. */
export function unprovable({
  salt,
  iterations,
}: Pick<ScramCredential, "salt" | "iterations">): ScramCredential {
  return { salt, iterations, storedKey: randomBytes(32), serverKey: randomBytes(32) };
}

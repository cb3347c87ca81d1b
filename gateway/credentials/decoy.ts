// Stand-ins for users who do not exist (or lack a verifier), so that an attacker probing user names sees
// the same work, the same replies and the same SCRAM parameters as for a real user with a wrong password.
import { createHmac, randomBytes } from "node:crypto";
import type { ScramCredential } from "../sasl/mechanism.ts";
import { hashPassword, type PasswordHash, parsePasswordHash } from "./password-hash.ts";
import { usernameKey } from "./users-file.ts";

// Per process: decoy salts are stable for a name (a real user's salt does not change between attempts
// either) but cannot be predicted or precomputed from outside.
const decoySaltKey = randomBytes(32);
const DECOY_SALT_BYTES = 16;

let decoyHash: Promise<PasswordHash> | undefined;

/** An argon2id hash with the same parameters as real ones, of a password nobody knows. Computed on first
 *  use and kept for the life of the process. */
export function decoyPasswordHash(): Promise<PasswordHash> {
  decoyHash ??= hashPassword(randomBytes(32).toString("base64")).then(parsePasswordHash);
  return decoyHash;
}

/** A SCRAM credential for an unknown user: deterministic salt, keys nobody can produce a proof for. */
export function decoyScramCredential(username: string, iterations: number): ScramCredential {
  const salt = createHmac("sha256", decoySaltKey)
    .update(usernameKey(username))
    .digest()
    .subarray(0, DECOY_SALT_BYTES);
  return unprovable({ salt, iterations });
}

/** The given salt and iterations with fresh random keys: the exchange proceeds and no proof matches. */
export function unprovable({
  salt,
  iterations,
}: Pick<ScramCredential, "salt" | "iterations">): ScramCredential {
  return { salt, iterations, storedKey: randomBytes(32), serverKey: randomBytes(32) };
}

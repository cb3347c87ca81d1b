// Whether verifiers already stored were derived from a given password, checked with the cheapest one
// present: CRAM-MD5's secret is the password itself, one SCRAM check is one PBKDF2 at the stored
// iterations, argon2id costs the most. Every verifier of an entry comes from one password, so one
// check answers for all of them.
import { timingSafeEqual } from "node:crypto";
import { verifyPasswordHash } from "../../gateway/credentials/password-hash.ts";
import { deriveScramCredentialAsync } from "../../gateway/credentials/scram-credential.ts";
import type { UserEntry } from "../../gateway/credentials/users-file.ts";

function equalBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when `password` is the one `verifiers` were derived from; false when not, or not checkable. */
export async function verifiersMatch(verifiers: UserEntry["verifiers"], password: string): Promise<boolean> {
  try {
    if (verifiers.cramMd5) return equalBytes(Buffer.from(password, "utf8"), verifiers.cramMd5);
    if (verifiers.scramSha256) {
      const { salt, iterations, storedKey } = verifiers.scramSha256;
      return equalBytes((await deriveScramCredentialAsync(password, salt, iterations)).storedKey, storedKey);
    }
    if (verifiers.password) return await verifyPasswordHash(verifiers.password, password);
  } catch {
    // e.g. a password SASLprep refuses: not a match, so it is derived anew (and refused there).
  }
  return false;
}

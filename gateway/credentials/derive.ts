// Turns a password into the verifiers the credentials file can hold, in the file's written form. The
// operator (from a user's Secret) and the CLI both go through here, so the gateway never sees the password.
import { randomBytes } from "node:crypto";
import type { MechanismName } from "../sasl/mechanism.ts";
import { hashPassword } from "./password-hash.ts";
import { deriveScramCredentialAsync, SCRAM_MIN_ITERATIONS } from "./scram-credential.ts";
import type { VerifiersInput } from "./users-file.ts";

/** Which verifiers a user needs. */
export interface VerifierNeeds {
  /** argon2id, for PLAIN and LOGIN. */
  password: boolean;
  scramSha256: boolean;
  /** The plaintext-equivalent CRAM-MD5 secret. */
  cramMd5: boolean;
}

/** The verifiers a gateway offering `mechanisms` uses: each only where a mechanism needs it, so no
 *  secret sits on a gateway that never checks it (every stored verifier is an offline-guessing target). */
export function verifierNeeds(mechanisms: readonly string[]): VerifierNeeds {
  const offers = (name: MechanismName) => mechanisms.includes(name);
  return {
    password: offers("PLAIN") || offers("LOGIN"),
    scramSha256: offers("SCRAM-SHA-256"),
    cramMd5: offers("CRAM-MD5"),
  };
}

export interface DeriveOptions {
  /** PBKDF2 iterations for SCRAM-SHA-256; at least (and by default) 4096, RFC 7677 §4. */
  scramIterations?: number;
  /** The mechanisms the gateway offers; only their verifiers are derived (see verifierNeeds). Unset:
   *  argon2id and SCRAM-SHA-256, plus CRAM-MD5 when `cramMd5` asks for it. */
  mechanisms?: readonly string[];
  /** With `mechanisms` unset: also emit the CRAM-MD5 secret. */
  cramMd5?: boolean;
}

const SCRAM_SALT_BYTES = 16;

function needsOf(options: DeriveOptions): VerifierNeeds {
  if (options.mechanisms) return verifierNeeds(options.mechanisms);
  return { password: true, scramSha256: true, cramMd5: options.cramMd5 ?? false };
}

export async function deriveVerifiers(
  password: string,
  options: DeriveOptions = {},
): Promise<VerifiersInput> {
  const needs = needsOf(options);
  const iterations = options.scramIterations ?? SCRAM_MIN_ITERATIONS;
  // Both hashes run on the threadpool, side by side.
  const [hash, scram] = await Promise.all([
    needs.password ? hashPassword(password) : undefined,
    needs.scramSha256
      ? deriveScramCredentialAsync(password, randomBytes(SCRAM_SALT_BYTES), iterations)
      : undefined,
  ]);
  return {
    ...(hash !== undefined ? { password: hash } : {}),
    ...(scram
      ? {
          scramSha256: {
            iterations: scram.iterations,
            salt: scram.salt.toString("base64"),
            storedKey: scram.storedKey.toString("base64"),
            serverKey: scram.serverKey.toString("base64"),
          },
        }
      : {}),
    ...(needs.cramMd5 ? { cramMd5: Buffer.from(password, "utf8").toString("base64") } : {}),
  };
}

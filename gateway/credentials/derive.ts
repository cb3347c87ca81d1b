// Turns a password into every verifier the credentials file can hold, in the file's written form. The
// operator (from a user's Secret) and the CLI both go through here, so the gateway never sees the password.
import { randomBytes } from "node:crypto";
import { hashPassword } from "./password-hash.ts";
import { deriveScramCredential, SCRAM_MIN_ITERATIONS } from "./scram-credential.ts";
import type { VerifiersInput } from "./users-file.ts";

export interface DeriveOptions {
  /** PBKDF2 iterations for SCRAM-SHA-256; at least (and by default) 4096, RFC 7677 §4. */
  scramIterations?: number;
  /** Also emit the plaintext-equivalent CRAM-MD5 secret; only for gateways that enable CRAM-MD5. */
  cramMd5?: boolean;
}

const SCRAM_SALT_BYTES = 16;

export async function deriveVerifiers(
  password: string,
  options: DeriveOptions = {},
): Promise<VerifiersInput> {
  const scram = deriveScramCredential(
    password,
    randomBytes(SCRAM_SALT_BYTES),
    options.scramIterations ?? SCRAM_MIN_ITERATIONS,
  );
  return {
    password: await hashPassword(password),
    scramSha256: {
      iterations: scram.iterations,
      salt: scram.salt.toString("base64"),
      storedKey: scram.storedKey.toString("base64"),
      serverKey: scram.serverKey.toString("base64"),
    },
    ...(options.cramMd5 ? { cramMd5: Buffer.from(password, "utf8").toString("base64") } : {}),
  };
}

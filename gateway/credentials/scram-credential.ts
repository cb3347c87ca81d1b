// RFC 5802 §3 key derivation for SCRAM-SHA-256 (RFC 7677). The one place that turns a password into
// the verifiers the gateway stores: the operator, the CLI and the tests all derive through here.
import { createHash, createHmac, pbkdf2, pbkdf2Sync } from "node:crypto";
import { promisify } from "node:util";
import { saslprep } from "@mongodb-js/saslprep";
import type { ScramCredential } from "../sasl/mechanism.ts";

/** RFC 7677 §4: at least 4096 iterations. */
export const SCRAM_MIN_ITERATIONS = 4096;

const pbkdf2Async = promisify(pbkdf2);

function checkIterations(iterations: number): void {
  if (iterations < SCRAM_MIN_ITERATIONS)
    throw new RangeError(`SCRAM iterations must be >= ${SCRAM_MIN_ITERATIONS}`);
}

function keysOf(saltedPassword: Buffer, salt: Buffer, iterations: number): ScramCredential {
  const clientKey = createHmac("sha256", saltedPassword).update("Client Key").digest();
  return {
    salt,
    iterations,
    storedKey: createHash("sha256").update(clientKey).digest(),
    serverKey: createHmac("sha256", saltedPassword).update("Server Key").digest(),
  };
}

export function deriveScramCredential(password: string, salt: Buffer, iterations: number): ScramCredential {
  checkIterations(iterations);
  return keysOf(pbkdf2Sync(saslprep(password), salt, iterations, 32, "sha256"), salt, iterations);
}

/** The same on libuv's threadpool: for callers that derive many (the operator), whose event loop must
 *  keep serving while PBKDF2 runs. */
export async function deriveScramCredentialAsync(
  password: string,
  salt: Buffer,
  iterations: number,
): Promise<ScramCredential> {
  checkIterations(iterations);
  return keysOf(await pbkdf2Async(saslprep(password), salt, iterations, 32, "sha256"), salt, iterations);
}

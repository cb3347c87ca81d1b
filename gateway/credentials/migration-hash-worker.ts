// The worker thread of migration-hashes.ts: verifies bcrypt and SHA512-CRYPT hashes, which their
// libraries compute in JavaScript, away from the gateway's event loop.
import { parentPort } from "node:worker_threads";
import bcrypt from "bcryptjs";
import * as unixcrypt from "unixcrypt";

export interface MigrationCheck {
  id: number;
  scheme: "bcrypt" | "sha512-crypt";
  digest: string;
  password: string;
}

parentPort?.on("message", ({ id, scheme, digest, password }: MigrationCheck) => {
  try {
    const ok =
      scheme === "bcrypt" ? bcrypt.compareSync(password, digest) : unixcrypt.verify(password, digest);
    parentPort?.postMessage({ id, ok });
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});

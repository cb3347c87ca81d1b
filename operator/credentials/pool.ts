// At most N derivations at once. argon2id and PBKDF2 run on libuv's threadpool: unbounded, a
// thousand new users would queue a thousand jobs in front of every file and DNS operation of the
// process; bounded to the machine's parallelism, they use every core and leave the rest moving.
import { availableParallelism } from "node:os";
import { ConcurrencyLimit } from "../../gateway/credentials/concurrency-limit.ts";
import { type DeriveOptions, deriveVerifiers } from "../../gateway/credentials/derive.ts";
import type { UserEntry, VerifiersInput } from "../../gateway/credentials/users-file.ts";
import { verifiersMatch } from "./verify.ts";

/** The costly work of turning passwords into verifiers; tests count calls through it. */
export interface Deriver {
  derive(password: string, options: DeriveOptions): Promise<VerifiersInput>;
  matches(verifiers: UserEntry["verifiers"], password: string): Promise<boolean>;
}

/** The real Deriver, `concurrency` derivations (and checks) at once; see threadpool.ts for the
 *  threadpool size this needs. */
export function derivationPool(concurrency: number = availableParallelism()): Deriver {
  const limit = new ConcurrencyLimit(concurrency);
  return {
    derive: (password, options) => limit.run(() => deriveVerifiers(password, options)),
    matches: (verifiers, password) => limit.run(() => verifiersMatch(verifiers, password)),
  };
}

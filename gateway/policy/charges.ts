// Whom a mail transaction counts against for transaction caps and send limits: the login that
// authenticated, and — when it acts for another identity (SASL authzid) — that identity too, each under
// its own limit. Counting only the identity acted for gave a login allowed to act for N identities N+1
// times its limits; counting only the login would let many logins flood one shared identity.
import { usernameKey } from "../credentials/users-file.ts";
import type { RateLimit } from "./rate-limit-schema.ts";
import type { RateVerdict } from "./rate-limiter.ts";

export interface ChargedAccount {
  username: string;
  rateLimit?: RateLimit | undefined;
}

export interface Charge {
  /** The identity key the counters are kept under (users-file.ts usernameKey). */
  key: string;
  /** The account's own limit, else the gateway's default; none: unlimited. */
  limit: RateLimit | undefined;
}

export function chargesOf(
  login: ChargedAccount,
  identity: ChargedAccount,
  defaultLimit: RateLimit | undefined,
): Charge[] {
  const charge = (account: ChargedAccount) => ({
    key: usernameKey(account.username),
    limit: account.rateLimit ?? defaultLimit,
  });
  const charges = [charge(login)];
  if (usernameKey(identity.username) !== usernameKey(login.username)) charges.push(charge(identity));
  return charges;
}

/** The first refusal of `check` over the charges that have a limit, or ok when none refuses. */
export function checkCharges(
  charges: readonly Charge[],
  check: (key: string, limit: RateLimit) => RateVerdict,
): RateVerdict {
  for (const { key, limit } of charges) {
    if (!limit) continue;
    const verdict = check(key, limit);
    if (!verdict.ok) return verdict;
  }
  return { ok: true };
}

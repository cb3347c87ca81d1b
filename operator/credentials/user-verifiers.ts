// One user's verifiers for one gateway: reused, copied, or derived. Deriving is the only costly
// outcome, so it happens only when nothing stored can be shown to come from the current password in
// the current shape.
import { type DeriveOptions, type VerifierNeeds, verifierNeeds } from "../../gateway/credentials/derive.ts";
import { ARGON2ID_COST, parsePasswordHash } from "../../gateway/credentials/password-hash.ts";
import type { UserEntry, VerifiersInput } from "../../gateway/credentials/users-file.ts";
import type { CredentialSource } from "./binding.ts";
import type { Deriver } from "./pool.ts";
import type { PreviousUser } from "./previous-shard.ts";
import { sameSource } from "./sources.ts";

/** What the gateway checks: its mechanisms and its SCRAM iteration count. */
export interface GatewayCredentialShape {
  mechanisms: readonly string[];
  scramIterations: number;
}

export type UserVerifiers =
  | {
      ok: true;
      verifiers: VerifiersInput;
      work: "reused" | "copied" | "derived";
      /** The credential itself changed (a new password or hash, or a new user), not just its Secret. */
      changed: boolean;
    }
  | { ok: false; message: string };

const VERIFIER_NAMES = ["password", "scramSha256", "cramMd5"] as const;

/** Whether stored verifiers cover every need as the gateway wants it now: SCRAM at its iteration
 *  count, the password as argon2id with today's parameters (not a migrated {SCHEME} hash). */
function covers(stored: UserEntry["verifiers"], needs: VerifierNeeds, scramIterations: number): boolean {
  const hash = stored.password;
  return (
    (!needs.password ||
      (hash?.scheme === "argon2id" && hash.stored === hash.digest && hash.cost === ARGON2ID_COST)) &&
    (!needs.scramSha256 || stored.scramSha256?.iterations === scramIterations) &&
    (!needs.cramMd5 || stored.cramMd5 !== undefined)
  );
}

/** The needed verifiers out of stored ones, as written: a mechanism no longer offered loses its own. */
function pick(written: VerifiersInput, needs: VerifierNeeds): VerifiersInput {
  return Object.fromEntries(
    VERIFIER_NAMES.filter((name) => needs[name] && written[name] !== undefined).map((name) => [
      name,
      written[name],
    ]),
  );
}

function hashVerifiers(
  stored: string,
  needs: VerifierNeeds,
  previous: PreviousUser | undefined,
): UserVerifiers {
  try {
    parsePasswordHash(stored);
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  if (!needs.password) {
    return {
      ok: false,
      message: "a {SCHEME} hash serves only PLAIN and LOGIN, and the gateway offers neither",
    };
  }
  return {
    ok: true,
    verifiers: { password: stored },
    work: "copied",
    changed: previous?.written.password !== stored,
  };
}

export async function userVerifiers(
  gateway: GatewayCredentialShape,
  source: CredentialSource,
  previous: PreviousUser | undefined,
  deriver: Deriver,
): Promise<UserVerifiers> {
  const needs = verifierNeeds(gateway.mechanisms);
  if (source.kind === "hash") return hashVerifiers(source.hash, needs, previous);
  if (!Object.values(needs).some(Boolean)) {
    return {
      ok: false,
      message:
        "the gateway offers no mechanism that checks a password (PLAIN, LOGIN, SCRAM-SHA-256, CRAM-MD5)",
    };
  }
  if (source.password === "") return { ok: false, message: "the password is empty" };
  if (previous && covers(previous.parsed, needs, gateway.scramIterations)) {
    // An unchanged Secret needs no check; a changed one may still hold the same password (an
    // unrelated key edited, the Secret re-created), which one cheap check tells.
    if (
      sameSource(previous.source, source.fingerprint) ||
      (await deriver.matches(previous.parsed, source.password))
    ) {
      return { ok: true, verifiers: pick(previous.written, needs), work: "reused", changed: false };
    }
  }
  const options: DeriveOptions = { mechanisms: gateway.mechanisms, scramIterations: gateway.scramIterations };
  try {
    const verifiers = await deriver.derive(source.password, options);
    // Derived for a new shape (iterations, mechanisms) from an unchanged Secret is no credential change.
    return {
      ok: true,
      verifiers,
      work: "derived",
      changed: !sameSource(previous?.source, source.fingerprint),
    };
  } catch (error) {
    return { ok: false, message: `cannot derive verifiers from the password: ${(error as Error).message}` };
  }
}

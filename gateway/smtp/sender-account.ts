// Whose mail a MAIL FROM sends and which senders it may use, decided again at every MAIL FROM from
// the users file in force now: a user disabled, removed, moved out of its networks, or no longer
// allowed to act as its authzid since AUTH sends nothing more on a session that is already open.
import { sourceAllowed } from "../policy/source-address.ts";
import type { AuthenticatedUser } from "./auth-command.ts";
import type { SenderRecord } from "./listener-runtime.ts";

type Lookup = (username: string) => SenderRecord | undefined;

/** The user the transaction is on behalf of: the SASL authorization identity if one was granted. */
export function identityOf(user: AuthenticatedUser): string {
  return user.authzid ?? user.username;
}

/** The account the session sends for, or undefined when it may not send any more. */
export function sendingAccount(lookup: Lookup, user: AuthenticatedUser, remoteAddress: string) {
  const login = lookup(user.username);
  const identity = lookup(identityOf(user));
  if (!login || !identity || login.disabled || identity.disabled) return undefined;
  if (!sourceAllowed(login.allowedCidrs, remoteAddress)) return undefined;
  const actsAs = user.authzid?.toLowerCase();
  if (
    actsAs &&
    actsAs !== login.username.toLowerCase() &&
    !login.authorizeFor.some((a) => a.toLowerCase() === actsAs)
  ) {
    return undefined;
  }
  return identity;
}

/** Sender patterns the session may use, including those of an RFC 4954 §5 `AUTH=` identity the
 *  user is allowed to submit for; any other `AUTH=` value is treated as `AUTH=<>` (ignored). */
export function senderPatterns(lookup: Lookup, record: SenderRecord, authParam: unknown): string[] {
  const patterns = [...record.senders];
  if (typeof authParam === "string" && authParam !== "<>") {
    const onBehalfOf = authParam.replace(/^<(.*)>$/, "$1").toLowerCase();
    const target = lookup(onBehalfOf);
    const allowed = record.authorizeFor.some((a) => a.toLowerCase() === onBehalfOf);
    if (allowed && target && !target.disabled) patterns.push(...target.senders);
  }
  return patterns;
}

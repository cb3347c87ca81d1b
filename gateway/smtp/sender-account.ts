// Whose mail a MAIL FROM sends and which senders it may use, decided again at every MAIL FROM from
// the users file in force now: a user disabled, removed, moved out of its networks, or no longer
// allowed to act as its authzid since AUTH sends nothing more on a session that is already open.
import { usernameKey } from "../credentials/users-file.ts";
import { sourceAllowed } from "../policy/source-address.ts";
import type { AuthenticatedUser } from "./auth-command.ts";
import type { SenderRecord } from "./listener-runtime.ts";

type Lookup = (username: string) => SenderRecord | undefined;

/** The user the transaction is on behalf of: the SASL authorization identity if one was granted. */
export function identityOf(user: AuthenticatedUser): string {
  return user.authzid ?? user.username;
}

/** The login that authenticated and the account the session sends for (the same unless it acts for
 *  an authzid), or undefined when it may not send any more. Names compare by their identity key. */
export function sendingAccount(lookup: Lookup, user: AuthenticatedUser, remoteAddress: string) {
  const login = lookup(user.username);
  const identity = lookup(identityOf(user));
  if (!login || !identity || login.disabled || identity.disabled) return undefined;
  if (!sourceAllowed(login.allowedCidrs, remoteAddress)) return undefined;
  const actsAs = user.authzid === undefined ? undefined : usernameKey(user.authzid);
  if (
    actsAs &&
    actsAs !== usernameKey(login.username) &&
    !login.authorizeFor.some((a) => usernameKey(a) === actsAs)
  ) {
    return undefined;
  }
  return { login, identity };
}

/** Sender patterns the session may use, including those of an RFC 4954 §5 `AUTH=` identity the
 *  user is allowed to submit for; any other `AUTH=` value is treated as `AUTH=<>` (ignored). */
export function senderPatterns(lookup: Lookup, record: SenderRecord, authParam: unknown): string[] {
  const patterns = [...record.senders];
  if (typeof authParam === "string" && authParam !== "<>") {
    const onBehalfOf = usernameKey(authParam.replace(/^<(.*)>$/, "$1"));
    const target = lookup(onBehalfOf);
    const allowed = record.authorizeFor.some((a) => usernameKey(a) === onBehalfOf);
    if (allowed && target && !target.disabled) patterns.push(...target.senders);
  }
  return patterns;
}

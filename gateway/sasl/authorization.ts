// RFC 4422 §2: the authorization identity a client asks to act as, decided after authentication
// succeeded so that an unauthenticated client learns nothing about who may act as whom.
import { failure } from "./exchange.ts";
import type { SaslBackend, SaslStep } from "./mechanism.ts";

/**
 * Concludes a successful authentication of `username` (as the backend returned it). `claimed` is
 * the name the client authenticated as; an empty `authzid`, or one naming the same user, means
 * "act as myself". Anything else needs the backend's permission.
 */
export function authorize(
  backend: SaslBackend,
  username: string,
  authzid: string,
  claimed: string,
): SaslStep {
  if (authzid === "" || authzid === username || authzid === claimed) return { kind: "success", username };
  if (backend.mayAuthorizeAs(username, authzid)) return { kind: "success", username, authzid };
  return failure("invalid", claimed);
}

// What XOAUTH2 and OAUTHBEARER share: \x01-separated key=value pairs, the `Bearer <token>`
// credential, and the token verdict with its RFC 7628 §3.2.2 error object.
import { authorize } from "./authorization.ts";
import { failure } from "./exchange.ts";
import type { SaslBackend, SaslStep } from "./mechanism.ts";

/** Large JWTs run to a few KB; this bounds what reaches the token verifier. */
export const MAX_TOKEN_OCTETS = 16384;

const KVPAIR = /^([A-Za-z]+)=(.*)$/s; // applied to the pieces between \x01 separators
// RFC 6750 §2.1: scheme (case-insensitive), 1*SP, b64token.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * RFC 7628 §3.1 `*kvpair kvsep`: each pair ends with \x01 and one more \x01 ends the list.
 * Undefined when malformed or when a key repeats.
 */
export function parseKvPairs(text: string): Map<string, string> | undefined {
  if (!text.endsWith("\x01")) return undefined;
  const parts = text.slice(0, -1).split("\x01");
  if (parts.pop() !== "") return undefined;
  const pairs = new Map<string, string>();
  for (const part of parts) {
    const [, key, value] = KVPAIR.exec(part) ?? [];
    if (key === undefined || value === undefined || pairs.has(key)) return undefined;
    pairs.set(key, value);
  }
  return pairs;
}

/** The token of an `auth=` value, or undefined when it is not a well-formed Bearer credential. */
export function bearerToken(auth: string): string | undefined {
  const token = BEARER.exec(auth)?.[1];
  return token !== undefined && token.length <= MAX_TOKEN_OCTETS ? token : undefined;
}

/**
 * Asks the backend about the token. On rejection the error object goes back to the client as
 * `errorData`; the driver then reads the client's dummy answer and replies 535.
 */
export async function checkBearerToken(
  backend: SaslBackend,
  token: string,
  claimedUser: string,
  authzid: string,
): Promise<SaslStep> {
  const verdict = await backend.verifyBearerToken(token, claimedUser);
  const named = claimedUser === "" ? undefined : claimedUser;
  switch (verdict.kind) {
    case "ok":
      return authorize(backend, verdict.username, authzid, verdict.username);
    case "unavailable":
      return failure("unavailable", named);
    case "invalid":
      return { ...failure("invalid", named), errorData: Buffer.from(JSON.stringify(verdict.errorJson)) };
  }
}

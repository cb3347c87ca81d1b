// OAUTHBEARER (RFC 7628 §3.1): gs2 header, then \x01-separated `host=`, `port=`, `auth=Bearer <token>`
// pairs, ending with \x01\x01. Client-first.
import { bearerToken, checkBearerToken, parseKvPairs } from "./bearer.ts";
import { decodeUtf8 } from "./client-text.ts";
import { clientFirstExchange, failure } from "./exchange.ts";
import { parseGs2Header } from "./gs2-header.ts";
import type { SaslMechanism } from "./mechanism.ts";

// RFC 7628 §3.1 value = *(VCHAR / SP / HTAB / CR / LF).
const VALUE = /^[\x21-\x7e \t\r\n]*$/;

export const oauthbearer: SaslMechanism = {
  name: "OAUTHBEARER",
  plaintext: true,
  start(_context, backend) {
    return clientFirstExchange(async (message) => {
      const text = decodeUtf8(message);
      const gs2 = text === undefined ? undefined : parseGs2Header(text);
      if (gs2 === undefined || !gs2.rest.startsWith("\x01")) return failure("malformed");
      const named = gs2.authzid === "" ? undefined : gs2.authzid;
      if (gs2.channelBinding) return failure("invalid", named);
      const pairs = parseKvPairs(gs2.rest.slice(1));
      if (pairs === undefined || ![...pairs.values()].every((value) => VALUE.test(value))) {
        return failure("malformed", named);
      }
      const token = bearerToken(pairs.get("auth") ?? "");
      if (token === undefined) return failure("malformed", named);
      // host= and port= are informational; other keys are extensions we may ignore (RFC 7628 §3.1).
      return checkBearerToken(backend, token, gs2.authzid, gs2.authzid);
    });
  },
};

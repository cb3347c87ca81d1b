// XOAUTH2 (Google's https://developers.google.com/gmail/imap/xoauth2-protocol):
// `user=<name>\x01auth=Bearer <token>\x01\x01`, client-first.
import { bearerToken, checkBearerToken, parseKvPairs } from "./bearer.ts";
import { checkIdentity, decodeUtf8 } from "./client-text.ts";
import { clientFirstExchange, failure } from "./exchange.ts";
import type { SaslMechanism } from "./mechanism.ts";

export const xoauth2: SaslMechanism = {
  name: "XOAUTH2",
  plaintext: true,
  start(_context, backend) {
    return clientFirstExchange(async (message) => {
      const text = decodeUtf8(message);
      const pairs = text === undefined ? undefined : parseKvPairs(text);
      if (pairs === undefined || pairs.size !== 2) return failure("malformed");
      const user = checkIdentity(pairs.get("user") ?? "");
      const token = bearerToken(pairs.get("auth") ?? "");
      if (user === undefined || token === undefined) return failure("malformed", user);
      return checkBearerToken(backend, token, user, "");
    });
  },
};

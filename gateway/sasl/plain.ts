// PLAIN (RFC 4616): one message `[authzid] NUL authcid NUL passwd`.
import { decodeIdentity, decodePassword } from "./client-text.ts";
import { clientFirstExchange, failure } from "./exchange.ts";
import type { SaslMechanism } from "./mechanism.ts";
import { checkPassword } from "./password-check.ts";

export const plain: SaslMechanism = {
  name: "PLAIN",
  plaintext: true,
  start(_context, backend) {
    return clientFirstExchange(async (message) => {
      const first = message.indexOf(0);
      const second = first < 0 ? -1 : message.indexOf(0, first + 1);
      // A third NUL would be inside the password, which decodePassword refuses (UTF8-SAFE).
      if (second < 0) return failure("malformed");
      const authcid = decodeIdentity(message.subarray(first + 1, second));
      if (authcid === undefined) return failure("malformed");
      const authzidBytes = message.subarray(0, first);
      const authzid = authzidBytes.length === 0 ? "" : decodeIdentity(authzidBytes);
      const password = decodePassword(message.subarray(second + 1));
      if (authzid === undefined || password === undefined) return failure("malformed", authcid);
      return checkPassword(backend, authcid, password, authzid);
    });
  },
};

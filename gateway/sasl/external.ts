// EXTERNAL (RFC 4422 App. A): the identity comes from the verified TLS client certificate; the
// client's only message is the authorization identity it wants ("" = the certificate's identity).
import { authorize } from "./authorization.ts";
import { decodeIdentity } from "./client-text.ts";
import { clientFirstExchange, failure } from "./exchange.ts";
import type { SaslMechanism } from "./mechanism.ts";

export const external: SaslMechanism = {
  name: "EXTERNAL",
  plaintext: false,
  start(context, backend) {
    return clientFirstExchange(async (message) => {
      const authzid = message.length === 0 ? "" : decodeIdentity(message);
      if (authzid === undefined) return failure("malformed");
      const certificate = context.clientCertificate;
      const identity = certificate === undefined ? undefined : backend.certificateIdentity(certificate);
      if (identity === undefined) return failure("invalid");
      return authorize(backend, identity, authzid, identity);
    });
  },
};

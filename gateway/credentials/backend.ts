// The SaslBackend the mechanisms talk to, assembled from one credential store (swapped on reload) and
// the long-lived pieces that outlive reloads (bearer verifier with its JWKS cache, certificate mapping).
import type { BearerVerdict, SaslBackend } from "../sasl/mechanism.ts";
import {
  type CertificateField,
  certificateIdentity,
  DEFAULT_CERTIFICATE_FIELD,
} from "./certificate-identity.ts";
import type { BearerVerifier } from "./oauth/bearer-verifier.ts";
import type { CredentialStore } from "./store.ts";

// Without OAuth configured the token mechanisms are not offered; a client that tries anyway is refused
// without pointing it at any issuer.
const NO_BEARER: BearerVerdict = { kind: "invalid", errorJson: { status: "invalid_token" } };

export function createSaslBackend(
  store: CredentialStore,
  bearer?: BearerVerifier,
  certificateField: CertificateField = DEFAULT_CERTIFICATE_FIELD,
): SaslBackend {
  return {
    verifyPassword: (username, password) => store.verifyPassword(username, password),
    scramCredential: (username) => store.scramCredential(username),
    cramMd5Secret: (username) => store.cramMd5Secret(username),
    verifyBearerToken: async (token, claimedUser) =>
      bearer ? bearer.verify(token, claimedUser, store) : NO_BEARER,
    certificateIdentity: (certificate) => certificateIdentity(certificate, certificateField, store),
    mayAuthorizeAs: (authcid, authzid) => store.mayAuthorizeAs(authcid, authzid),
  };
}

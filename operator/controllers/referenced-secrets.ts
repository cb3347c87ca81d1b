// The user's Secrets a SubmissionGateway's pods mount, with the keys each must hold: the gateway
// controller reports a missing one in status (the pods would wait in ContainerCreating without a word).
import type { V1Secret } from "@kubernetes/client-node";
import type { SubmissionGatewaySpec } from "../../crds/schema/submission-gateway.ts";

export interface SecretNeed {
  field: string;
  name: string;
  keys: string[];
}

export function referencedSecrets(spec: SubmissionGatewaySpec): SecretNeed[] {
  const needs: SecretNeed[] = [];
  if (spec.tls)
    needs.push({ field: "spec.tls.secretRef", name: spec.tls.secretRef.name, keys: ["tls.crt", "tls.key"] });
  const relayAuth = spec.relay.auth;
  // A basic-auth Secret; for XOAUTH2 its password is the access token.
  if (relayAuth) {
    needs.push({
      field: "spec.relay.auth.secretRef",
      name: relayAuth.secretRef.name,
      keys: ["username", "password"],
    });
  }
  const relayCa = spec.relay.tls.caSecretRef;
  if (relayCa) needs.push({ field: "spec.relay.tls.caSecretRef", name: relayCa.name, keys: [relayCa.key] });
  const clientCa = spec.auth.external?.clientCASecretRef;
  if (clientCa)
    needs.push({ field: "spec.auth.external.clientCASecretRef", name: clientCa.name, keys: [clientCa.key] });
  const jwks = spec.auth.oauth?.jwksSecretRef;
  if (jwks) needs.push({ field: "spec.auth.oauth.jwksSecretRef", name: jwks.name, keys: [jwks.key] });
  return needs;
}

/** Each need the cache cannot meet, as `<field>: Secret <name> (key <k>)` for a condition message. */
export function missingSecrets(
  spec: SubmissionGatewaySpec,
  lookup: (name: string) => V1Secret | undefined,
): string[] {
  const missing: string[] = [];
  for (const need of referencedSecrets(spec)) {
    const secret = lookup(need.name);
    if (!secret) {
      missing.push(`${need.field}: Secret ${need.name}`);
      continue;
    }
    const absent = need.keys.filter((key) => secret.data?.[key] === undefined);
    if (absent.length > 0) missing.push(`${need.field}: Secret ${need.name} has no key ${absent.join(", ")}`);
  }
  return missing;
}

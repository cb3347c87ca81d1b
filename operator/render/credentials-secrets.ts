// The Secrets behind a gateway's credentials volume: `<gw>-credentials` with the SCRAM decoy key, and
// the verifier shards `<gw>-credentials-NN`. Each shard also carries `sources.json`, which the pod never
// mounts (the projection lists only users.yaml): the operator's record of which Secret version each
// user's verifiers came from, so an unchanged password is never hashed again.
import { randomBytes } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { credentialsSecretName, gatewayIdentity, keys, objectMeta, shardSecretName } from "./labels.ts";

/** The operator-only key of a shard Secret. */
export const SOURCES_KEY = "sources.json";

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/** A new decoy key: 32 random bytes, base64, as the gateway's scramDecoyKeyFile wants it. */
export function newScramDecoyKey(): string {
  return randomBytes(32).toString("base64");
}

/** `<gw>-credentials`: the decoy key is made once and kept, so pass the existing one when there is one. */
export function credentialsSecret(gateway: SubmissionGateway, decoyKey: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: objectMeta(gateway, credentialsSecretName(gatewayIdentity(gateway).name)),
    type: "Opaque",
    data: { [keys.scramDecoyKey]: base64(decoyKey) },
  };
}

/** The decoy key a cached `<gw>-credentials` Secret holds, if it holds a usable one. */
export function existingDecoyKey(secret: V1Secret | undefined): string | undefined {
  const encoded = secret?.data?.[keys.scramDecoyKey];
  if (encoded === undefined) return undefined;
  const key = Buffer.from(encoded, "base64").toString("utf8").trim();
  return Buffer.from(key, "base64").length === 32 ? key : undefined;
}

/** Shard `index`: the users file the pods read, and the sources the operator reads back. */
export function shardSecret(
  gateway: SubmissionGateway,
  index: number,
  content: { usersYaml: string; sourcesJson: string },
): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: objectMeta(gateway, shardSecretName(gatewayIdentity(gateway).name, index)),
    type: "Opaque",
    data: { [keys.shard]: base64(content.usersYaml), [SOURCES_KEY]: base64(content.sourcesJson) },
  };
}

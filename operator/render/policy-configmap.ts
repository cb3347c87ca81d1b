// The `<gw>-policy` ConfigMap: gateway.yaml, which the gateway hot-reloads when it changes.
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { gatewayConfigYaml } from "./gateway-config.ts";
import { gatewayIdentity, keys, objectMeta, policyConfigMapName } from "./labels.ts";

export function policyConfigMap(gateway: SubmissionGateway): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: objectMeta(gateway, policyConfigMapName(gatewayIdentity(gateway).name)),
    data: { [keys.policy]: gatewayConfigYaml(gateway) },
  };
}

// The gateway pods' own ServiceAccount: gateway pods read only mounted volumes and never call the API,
// so no token is mounted and no RBAC is bound to it.
import type { V1ServiceAccount } from "@kubernetes/client-node";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { gatewayIdentity, objectMeta } from "./labels.ts";

export function serviceAccount(gateway: SubmissionGateway): V1ServiceAccount {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: objectMeta(gateway, gatewayIdentity(gateway).name),
    automountServiceAccountToken: false,
  };
}

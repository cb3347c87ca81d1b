// The PodDisruptionBudget: node drains evict gateway pods one at a time. maxUnavailable (not
// minAvailable) so a gateway of one replica can still be drained (it is briefly down, which its single
// replica accepts) and one of zero replicas has nothing to protect; the budget is the same at every
// scale, so scaling never has to create or delete it.
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { gatewayIdentity, objectMeta, selectorLabels } from "./labels.ts";

export function podDisruptionBudget(gateway: SubmissionGateway): V1PodDisruptionBudget {
  const { name } = gatewayIdentity(gateway);
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: objectMeta(gateway, name),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(name) },
      // A pod that is not ready serves no mail: evicting it never costs availability, and a
      // crash-looping gateway must not block a drain.
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}

// Every object a SubmissionGateway owns, rendered together: what the gateway controller applies.
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { type DeploymentOptions, deployment } from "./deployment.ts";
import { podDisruptionBudget } from "./pdb.ts";
import { policyConfigMap } from "./policy-configmap.ts";
import { service } from "./service.ts";
import { serviceAccount } from "./service-account.ts";
import { type ServiceMonitor, serviceMonitor } from "./service-monitor.ts";

export interface GatewayObjects {
  serviceAccount: V1ServiceAccount;
  policyConfigMap: V1ConfigMap;
  deployment: V1Deployment;
  service: V1Service;
  podDisruptionBudget: V1PodDisruptionBudget;
  /** Absent when the spec asks for none (the controller deletes an existing one). */
  serviceMonitor?: ServiceMonitor;
}

/** Renders everything, or throws the RenderError of the first field that cannot be rendered. */
export function gatewayObjects(gateway: SubmissionGateway, options: DeploymentOptions): GatewayObjects {
  const monitor = serviceMonitor(gateway);
  return {
    serviceAccount: serviceAccount(gateway),
    policyConfigMap: policyConfigMap(gateway),
    deployment: deployment(gateway, options),
    service: service(gateway),
    podDisruptionBudget: podDisruptionBudget(gateway),
    ...(monitor !== undefined && { serviceMonitor: monitor }),
  };
}

/** The objects in the order to apply them: what the pods mount and run as before the pods. */
export function applyOrder(objects: GatewayObjects): KubernetesObject[] {
  return [
    objects.serviceAccount,
    objects.policyConfigMap,
    objects.deployment,
    objects.service,
    objects.podDisruptionBudget,
    ...(objects.serviceMonitor === undefined ? [] : [objects.serviceMonitor]),
  ];
}

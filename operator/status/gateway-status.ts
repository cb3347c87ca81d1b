// What a SubmissionGateway's status says, decided from what the gateway controller observed: the
// spec's validity, the Secrets it needs, the credentials bundle and the Deployment's rollout.
import { condition, type DesiredCondition } from "./conditions.ts";

export interface DeploymentObservation {
  /** Whether the Deployment controller has seen the current template (observedGeneration ≥ generation). */
  observedCurrent: boolean;
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
}

export interface GatewayObservation {
  generation: number;
  desiredReplicas: number;
  /** The spec could not be turned into objects: the field and what is wrong with it. */
  invalidSpec?: string;
  /** Secrets the spec references (TLS, relay credentials, CAs, JWKS) that do not exist or lack the key. */
  missingSecrets: string[];
  /** The credentials bundle could not be written (e.g. a shard over its size limit). */
  credentialsProblem?: string;
  deployment?: DeploymentObservation;
}

/** Ready: the gateway accepts mail. Progressing: a change is rolling out. Degraded: serving or not,
 *  something needs attention. */
export function gatewayConditions(o: GatewayObservation): DesiredCondition[] {
  const gen = o.generation;
  const d = o.deployment;
  const ready = d?.readyReplicas ?? 0;
  const rolling =
    d !== undefined &&
    (!d.observedCurrent ||
      d.updatedReplicas < o.desiredReplicas ||
      d.replicas > o.desiredReplicas ||
      d.availableReplicas < o.desiredReplicas);

  const problem = o.invalidSpec
    ? { reason: "InvalidSpec", message: o.invalidSpec }
    : o.missingSecrets.length > 0
      ? { reason: "SecretNotFound", message: `missing: ${o.missingSecrets.join(", ")}` }
      : o.credentialsProblem
        ? { reason: "CredentialsNotWritten", message: o.credentialsProblem }
        : undefined;

  let readyCondition: DesiredCondition;
  if (ready > 0) {
    readyCondition = condition(
      "Ready",
      true,
      "Available",
      `${ready} of ${o.desiredReplicas} pods ready`,
      gen,
    );
  } else if (problem) {
    readyCondition = condition("Ready", false, problem.reason, problem.message, gen);
  } else if (o.desiredReplicas === 0) {
    readyCondition = condition("Ready", false, "ScaledToZero", "spec.replicas is 0", gen);
  } else {
    readyCondition = condition("Ready", false, "NoReadyPods", "no gateway pod is ready yet", gen);
  }

  const progressing =
    problem?.reason === "InvalidSpec"
      ? condition("Progressing", false, "InvalidSpec", "nothing rolls out until the spec is fixed", gen)
      : rolling
        ? condition(
            "Progressing",
            true,
            "RollingOut",
            `${d?.updatedReplicas ?? 0} of ${o.desiredReplicas} pods updated, ${d?.availableReplicas ?? 0} available`,
            gen,
          )
        : condition("Progressing", false, "Complete", "every pod runs the current template", gen);

  const unavailable = !rolling && d !== undefined && ready < o.desiredReplicas;
  const degraded = problem
    ? condition("Degraded", true, problem.reason, problem.message, gen)
    : unavailable
      ? condition("Degraded", true, "PodsUnavailable", `${ready} of ${o.desiredReplicas} pods ready`, gen)
      : condition("Degraded", false, "AsExpected", "nothing needs attention", gen);

  return [readyCondition, progressing, degraded];
}

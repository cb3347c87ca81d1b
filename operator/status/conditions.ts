// meta/v1 Conditions: the one way both kinds report what the operator observed. Pure: the caller
// passes the time, and a condition whose status did not change keeps its lastTransitionTime, so an
// unchanged observation yields an identical status and no write.
export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export type DesiredCondition = Omit<Condition, "lastTransitionTime">;

/** The desired conditions, in their order, each keeping its previous transition time when its status held. */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  desired: readonly DesiredCondition[],
  now: string,
): Condition[] {
  return desired.map((condition) => {
    const before = previous?.find((p) => p.type === condition.type);
    const lastTransitionTime = before && before.status === condition.status ? before.lastTransitionTime : now;
    return { ...condition, lastTransitionTime };
  });
}

/** The conditions whose status or reason differ between two lists: what an Event should announce. */
export function transitions(
  previous: readonly Condition[] | undefined,
  next: readonly Condition[],
): Condition[] {
  return next.filter((condition) => {
    const before = previous?.find((p) => p.type === condition.type);
    return !before || before.status !== condition.status || before.reason !== condition.reason;
  });
}

export function condition(
  type: string,
  status: boolean,
  reason: string,
  message: string,
  observedGeneration?: number,
): DesiredCondition {
  return { type, status: status ? "True" : "False", reason, message, observedGeneration };
}

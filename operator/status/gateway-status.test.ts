import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeConditions, transitions } from "./conditions.ts";
import { type GatewayObservation, gatewayConditions } from "./gateway-status.ts";

const rolledOut = {
  observedCurrent: true,
  replicas: 2,
  updatedReplicas: 2,
  readyReplicas: 2,
  availableReplicas: 2,
};
const base: GatewayObservation = {
  generation: 3,
  desiredReplicas: 2,
  missingSecrets: [],
  deployment: rolledOut,
};

const summary = (o: GatewayObservation) =>
  Object.fromEntries(gatewayConditions(o).map((c) => [c.type, `${c.status}/${c.reason}`]));

test("rolled out and ready", () => {
  assert.deepEqual(summary(base), {
    Ready: "True/Available",
    Progressing: "False/Complete",
    Degraded: "False/AsExpected",
  });
  assert.ok(gatewayConditions(base).every((c) => c.observedGeneration === 3));
});

test("no Deployment status yet, or a new template not yet observed: progressing, not ready", () => {
  const fresh = {
    ...base,
    deployment: { ...rolledOut, observedCurrent: false, readyReplicas: 0, availableReplicas: 0 },
  };
  assert.deepEqual(summary(fresh), {
    Ready: "False/NoReadyPods",
    Progressing: "True/RollingOut",
    Degraded: "False/AsExpected",
  });
});

test("a roll in progress keeps serving", () => {
  const rolling = { ...base, deployment: { ...rolledOut, replicas: 3, updatedReplicas: 1 } };
  assert.deepEqual(summary(rolling), {
    Ready: "True/Available",
    Progressing: "True/RollingOut",
    Degraded: "False/AsExpected",
  });
});

test("invalid spec, missing Secret, unwritable credentials: reasons on Ready and Degraded", () => {
  const invalid = { ...base, invalidSpec: "spec.listeners[1].port: collides", deployment: undefined };
  assert.deepEqual(summary(invalid), {
    Ready: "False/InvalidSpec",
    Progressing: "False/InvalidSpec",
    Degraded: "True/InvalidSpec",
  });
  const missing = { ...base, missingSecrets: ["corp-tls"], deployment: undefined };
  assert.deepEqual(summary(missing), {
    Ready: "False/SecretNotFound",
    Progressing: "False/Complete",
    Degraded: "True/SecretNotFound",
  });
  assert.match(gatewayConditions(missing)[0]?.message ?? "", /corp-tls/);
  const serving = { ...base, credentialsProblem: "shard 04 is 800 KiB" };
  assert.deepEqual(summary(serving), {
    Ready: "True/Available",
    Progressing: "False/Complete",
    Degraded: "True/CredentialsNotWritten",
  });
});

test("fewer ready pods than wanted after the roll: degraded", () => {
  const short = { ...base, deployment: { ...rolledOut, readyReplicas: 1 } };
  assert.deepEqual(summary(short), {
    Ready: "True/Available",
    Progressing: "False/Complete",
    Degraded: "True/PodsUnavailable",
  });
  const zero = {
    ...base,
    desiredReplicas: 0,
    deployment: { ...rolledOut, replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0 },
  };
  assert.equal(summary(zero).Ready, "False/ScaledToZero");
});

test("mergeConditions keeps the transition time of a condition whose status held", () => {
  const first = mergeConditions(undefined, gatewayConditions(base), "2026-12-01T10:00:00Z");
  const same = mergeConditions(first, gatewayConditions(base), "2026-12-01T11:00:00Z");
  assert.deepEqual(same, first);
  assert.deepEqual(transitions(first, same), []);
  const short = gatewayConditions({ ...base, deployment: { ...rolledOut, readyReplicas: 1 } });
  const changed = mergeConditions(first, short, "2026-12-01T12:00:00Z");
  assert.equal(changed.find((c) => c.type === "Ready")?.lastTransitionTime, "2026-12-01T10:00:00Z");
  assert.equal(changed.find((c) => c.type === "Degraded")?.lastTransitionTime, "2026-12-01T12:00:00Z");
  assert.deepEqual(
    transitions(first, changed).map((c) => c.type),
    ["Degraded"],
  );
});

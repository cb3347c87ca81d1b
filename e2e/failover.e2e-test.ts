// Two operator replicas as pods on a real node: the leader's process is killed outright (SIGKILL, no
// chance to release its Lease); the standby takes the Lease within one lease duration and converges a
// change made while nobody led: a new user can send mail. The killed container restarts as a standby.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { apply, eventually, read, untilCondition } from "../operator/testing/cluster-objects.ts";
import {
  addUser,
  assertRelayedOnce,
  ctr,
  gateway,
  installOperator,
  readyPods,
  reloadedAfter,
  restrictedNamespace,
  serviceAddress,
  startUpstream,
  swaks,
  tlsSecret,
} from "./testing/system.ts";

const LEASE_SECONDS = 6;
/** installOperator's retry period: the standby looks at the Lease this often (jittered by up to 1.2). */
const RETRY_SECONDS = LEASE_SECONDS / 7.5;

interface Lease {
  spec?: { holderIdentity?: string; leaseTransitions?: number };
}

/** The operator pod holding the Lease (identities are `<pod name>_<uuid>`). */
async function leader(namespace: string): Promise<string | undefined> {
  const lease = await read<Lease & { apiVersion: string; kind: string }>(
    "coordination.k8s.io/v1",
    "Lease",
    namespace,
    "postern-operator",
  );
  return lease?.spec?.holderIdentity?.split("_")[0];
}

test("the operator's leader is killed: the standby takes over within one lease duration and converges", async (t) => {
  const ns = await restrictedNamespace(t);
  const upstream = await startUpstream(t);
  await installOperator(ns, { replicas: 2, leaseSeconds: LEASE_SECONDS });
  await tlsSecret(ns);
  await apply(gateway(ns, upstream));
  await addUser(ns, "alice", "alice-password");
  await untilCondition("SmtpUser", ns, "alice", "Ready", "True", "Bound");
  await readyPods(ns, 1);
  const service = await serviceAddress(ns);

  const first = await eventually("a leader", () => leader(ns));
  const pod = await read<V1Pod>("v1", "Pod", ns, first);
  const containerId = pod?.status?.containerStatuses?.[0]?.containerID?.replace("containerd://", "");
  assert.ok(containerId, "the leader's container ID");
  // The container's process, as the host sees it (ctr lists the task's PID).
  const task = (await ctr(["tasks", "list"])).split("\n").find((l) => l.startsWith(containerId));
  const pid = Number(task?.split(/\s+/)[1]);
  assert.ok(pid > 1, `the leader's PID in ${task}`);

  process.kill(pid, "SIGKILL");
  const killed = performance.now();
  // A change while nobody leads.
  const changed = Date.now();
  await addUser(ns, "bob", "bob-password");
  const next = await eventually(
    "another pod leads",
    async () => {
      const holder = await leader(ns);
      return holder !== undefined && holder !== first ? holder : undefined;
    },
    4 * LEASE_SECONDS * 1000,
  );
  const takeover = (performance.now() - killed) / 1000;
  process.stderr.write(
    `operator failover: ${next} took the Lease ${takeover.toFixed(2)} s after the leader ${first} was killed ` +
      `(lease duration ${LEASE_SECONDS} s)\n`,
  );
  // Expiry is judged from the standby's last observation of a renewal, at most a retry period before
  // the kill; it notices on its next retry; the poll here adds up to 0.2 s.
  assert.ok(takeover <= LEASE_SECONDS + RETRY_SECONDS * 1.2 + 0.5, `took ${takeover.toFixed(2)} s`);

  await untilCondition("SmtpUser", ns, "bob", "Ready", "True", "Bound", 30_000);
  const [gatewayPod] = await readyPods(ns, 1);
  assert.ok(gatewayPod);
  await reloadedAfter(gatewayPod, changed);
  const sent = await swaks(service, "bob@example.com", "bob-password");
  assert.equal(sent.code, 0, sent.output);
  await assertRelayedOnce(upstream, sent.token);

  const restarted = await eventually("the killed operator is back, as a standby", async () => {
    const again = await read<V1Pod>("v1", "Pod", ns, first);
    const status = again?.status?.containerStatuses?.[0];
    return status?.restartCount === 1 && status.ready ? again : undefined;
  });
  assert.ok(restarted);
  assert.equal(await leader(ns), next, "leadership stays with the new leader");
});

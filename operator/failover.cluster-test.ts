// The operator survives what production throws at it: a leader that dies (another replica takes over
// within one lease duration and converges what changed meanwhile, and a standby never writes), and
// an API server restarted under its watches (it reconnects and converges).
import assert from "node:assert/strict";
import { test } from "node:test";
import { freshNamespace } from "../hack/testing/cluster.ts";
import { startControlPlane } from "../hack/testing/control-plane.ts";
import {
  apply,
  installCrds,
  POSTERN,
  passwordSecret,
  smtpUser,
  untilCondition,
  useKubeconfig,
} from "./testing/cluster-objects.ts";
import { type OperatorProcess, startOperator } from "./testing/operator-process.ts";

const LEASE_SECONDS = 4;

const gateway = (namespace: string) => ({
  apiVersion: POSTERN,
  kind: "SubmissionGateway",
  metadata: { name: "corp", namespace },
  spec: {
    relay: { host: "relay.example.net" },
    listeners: [{ name: "submission", port: 587, mode: "starttls" }],
    auth: { mechanisms: ["SCRAM-SHA-256"] },
  },
});

const user = smtpUser;

async function writes(operator: OperatorProcess): Promise<number> {
  const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^postern_operator_api_writes_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) {
    total += Number(match[1]);
  }
  return total;
}

const leading = (line: Record<string, unknown>) => line.msg === "leading: starting controllers";

test("leader failover: one leader, a standby that never writes, takeover within one lease duration", async (t) => {
  await installCrds();
  const ns = await freshNamespace(t);
  const leaseName = `failover-${ns}`;
  const a = await startOperator(t, { namespace: ns, leaseName, leaseSeconds: LEASE_SECONDS });
  await a.waitForLog(leading);
  const b = await startOperator(t, { namespace: ns, leaseName, leaseSeconds: LEASE_SECONDS });
  await b.waitForLog((l) => l.msg === "caches synced");

  await apply(passwordSecret(ns, "alice-pw", "alice-secret"));
  await apply(gateway(ns));
  await apply(user(ns, "alice"));
  await untilCondition("SmtpUser", ns, "alice", "Ready", "True", "Bound");
  assert.ok((await writes(a)) > 0, "the leader wrote");
  assert.equal(await writes(b), 0, "the standby wrote nothing");
  assert.equal(b.logs.some(leading), false, "the standby never led");

  const killedAt = performance.now();
  await a.stop("SIGKILL");
  // A change while nobody leads: the new leader must converge it.
  await apply(passwordSecret(ns, "bob-pw", "bob-secret"));
  await apply(user(ns, "bob"));
  await b.waitForLog(leading, 3 * LEASE_SECONDS * 1000);
  const takeoverSeconds = (performance.now() - killedAt) / 1000;
  process.stderr.write(
    `leader failover: standby leads ${takeoverSeconds.toFixed(2)} s after the leader was killed\n`,
  );
  // Expiry is judged from the standby's own observation of the last renewal, at most one lease
  // duration before the kill; it notices on its next retry (retry period, jittered by 1.2).
  assert.ok(takeoverSeconds <= LEASE_SECONDS + (LEASE_SECONDS / 8) * 1.2 + 0.5, `took ${takeoverSeconds} s`);
  await untilCondition("SmtpUser", ns, "bob", "Ready", "True", "Bound");
});

test("an API server restarted under the operator's watches: it reconnects and converges", async (t) => {
  const plane = await startControlPlane();
  t.after(() => plane.stop());
  useKubeconfig(plane.kubeconfig);
  await installCrds();
  const ns = "restart";
  await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  // Without leader election: a leader that cannot renew for the restart's duration steps down and
  // exits, as it should (kubelet restarts it); this test is about the informers riding it out.
  const operator = await startOperator(t, {
    namespace: ns,
    kubeconfig: plane.kubeconfig,
    args: ["--leader-elect=false"],
  });
  await operator.waitForLog(leading);
  await apply(passwordSecret(ns, "alice-pw", "alice-secret"));
  await apply(gateway(ns));
  await apply(user(ns, "alice"));
  await untilCondition("SmtpUser", ns, "alice", "Ready", "True", "Bound");

  await plane.restartApiServer(2000);
  await apply(passwordSecret(ns, "bob-pw", "bob-secret"));
  await apply(user(ns, "bob"));
  await untilCondition("SmtpUser", ns, "bob", "Ready", "True", "Bound", 60_000);
  assert.equal(operator.child.exitCode, null, "the operator kept running through the restart");
});

// The product on a real node: the operator, running as a pod that reaches the API server through the
// `kubernetes` Service, turns a SubmissionGateway and an SmtpUser into gateway pods that admit only
// what restricted Pod Security allows; real clients submit through the gateway's Service (kube-proxy)
// and the mail arrives upstream as ESMTPSA; disabling or deleting the user shuts it out, and a policy
// change reaches the running pods without restarting them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { run, testMessage } from "../gateway/testing/run.ts";
import { apply, read, remove, untilCondition } from "../operator/testing/cluster-objects.ts";
import {
  addUser,
  assertRelayedOnce,
  gateway,
  installOperator,
  kc,
  readyPods,
  reloadedAfter,
  restrictedNamespace,
  SUBMISSION_TARGET,
  SWAKS_AUTH_FAILED,
  serviceAddress,
  startUpstream,
  swaks,
  tlsSecret,
  upstreamCopies,
  user,
} from "./testing/system.ts";

const ALICE = { username: "alice@example.com", password: "alice-password-1" };

/** Python's smtplib over implicit TLS (465): login, one message; prints the reply to the message. */
const PYTHON_SUBMIT = `
import smtplib, ssl, sys
host, user, password, sender, recipient = sys.argv[1:6]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
with smtplib.SMTP_SSL(host, 465, context=context, timeout=20) as smtp:
    smtp.login(user, password)
    print(smtp.sendmail(sender, [recipient], sys.stdin.read().encode()))
`;

test("a gateway and a user on a real node: mail, Pod Security, users shut out, policy hot-reloaded", async (t) => {
  const ns = await restrictedNamespace(t);
  const upstream = await startUpstream(t);
  await installOperator(ns);
  await tlsSecret(ns);
  await apply(gateway(ns, upstream, { replicas: 2 }));
  await addUser(ns, "alice", ALICE.password);
  await untilCondition("SmtpUser", ns, "alice", "Ready", "True", "Bound");
  const pods = await readyPods(ns, 2);
  const service = await serviceAddress(ns);

  await t.test("swaks through the Service: the message arrives upstream once, as ESMTPSA", async () => {
    const sent = await swaks(service, ALICE.username, ALICE.password);
    assert.equal(sent.code, 0, sent.output);
    assert.match(sent.output, /^<~ {2}235 2\.7\.0 /m);
    await assertRelayedOnce(upstream, sent.token);
  });

  await t.test("Python's smtplib over implicit TLS on 465, through the Service", async () => {
    const message = testMessage(ALICE.username, "erin@example.net");
    const sent = await run(
      "python3",
      ["-c", PYTHON_SUBMIT, service, ALICE.username, ALICE.password, message.from, message.to],
      { input: message.text },
    );
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.stdout.trim(), "{}", "no recipient refused");
    await assertRelayedOnce(upstream, message.token);
  });

  await t.test("the pods run as rendered under restricted Pod Security", async () => {
    const namespace = JSON.parse(await kc(["get", "namespace", ns, "-o", "json"]));
    assert.equal(namespace.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
    for (const pod of pods) {
      const object = await read<V1Pod>("v1", "Pod", ns, pod.name);
      assert.equal(object?.spec?.securityContext?.runAsNonRoot, true);
      assert.equal(object?.spec?.securityContext?.runAsUser, 65532);
      assert.equal(object?.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(object?.status?.phase, "Running");
    }
    // The namespace's operator pod as well: it is admitted under the same standard.
    const operator = await kc(
      ["get", "pods", "-l", "app.kubernetes.io/name=postern-operator", "-o", "name"],
      {
        namespace: ns,
      },
    );
    assert.match(operator, /^pod\//);
  });

  await t.test("a policy change is hot-reloaded by every pod, none restarted", async () => {
    const started = Date.now();
    await apply(gateway(ns, upstream, { replicas: 2, spec: { policy: { maxMessageSize: "10Mi" } } }));
    await Promise.all(pods.map((pod) => reloadedAfter(pod, started, "policy")));
    for (const pod of pods) {
      const ehlo = await run("swaks", [
        ...["--server", `${pod.ip}:${SUBMISSION_TARGET}`, "--quit-after", "EHLO", "--helo", "client.test"],
      ]);
      assert.match(ehlo.stdout, /^<- {2}250[- ]SIZE 10485760$/m, ehlo.stdout);
    }
    const after = await readyPods(ns, 2);
    assert.deepEqual(
      after.map((p) => [p.uid, p.restarts]).sort(),
      pods.map((p) => [p.uid, 0]).sort(),
      "the same pods, restart counts 0",
    );
  });

  await t.test("a disabled user is refused, then accepted once enabled again", async () => {
    let changed = Date.now();
    await apply(user(ns, "alice", { disabled: true }));
    await untilCondition("SmtpUser", ns, "alice", "Ready", "False", "Disabled");
    await Promise.all(pods.map((pod) => reloadedAfter(pod, changed)));
    const refused = await swaks(service, ALICE.username, ALICE.password);
    assert.equal(refused.code, SWAKS_AUTH_FAILED, refused.output);
    assert.match(refused.output, /^<~\* 535 5\.7\.8 /m);
    assert.deepEqual(await upstreamCopies(upstream, refused.token), []);

    changed = Date.now();
    await apply(user(ns, "alice"));
    await untilCondition("SmtpUser", ns, "alice", "Ready", "True", "Bound");
    await Promise.all(pods.map((pod) => reloadedAfter(pod, changed)));
    const accepted = await swaks(service, ALICE.username, ALICE.password);
    assert.equal(accepted.code, 0, accepted.output);
  });

  await t.test("a deleted user is refused", async () => {
    const changed = Date.now();
    await remove("postern.io/v1alpha1", "SmtpUser", ns, "alice");
    await Promise.all(pods.map((pod) => reloadedAfter(pod, changed)));
    const refused = await swaks(service, ALICE.username, ALICE.password);
    assert.equal(refused.code, SWAKS_AUTH_FAILED, refused.output);
    assert.deepEqual(await upstreamCopies(upstream, refused.token), []);
  });
});

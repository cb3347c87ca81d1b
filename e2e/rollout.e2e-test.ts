// Pod-template changes on a real node: a new image, then new resources, roll the gateway's pods one at
// a time (never fewer ready pods than replicas, never more than one extra) while a client keeps
// submitting through the Service, and every message arrives upstream exactly once; scaling 1 -> 3 -> 1
// follows the SubmissionGateway's replicas.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { apply, untilCondition } from "../operator/testing/cluster-objects.ts";
import {
  addUser,
  assertRelayedOnce,
  ctr,
  type GatewayPod,
  gateway,
  gatewayPods,
  IMAGE,
  installOperator,
  readyPods,
  restrictedNamespace,
  type Submission,
  serviceAddress,
  startUpstream,
  swaks,
  tlsSecret,
  upstreamCopies,
} from "./testing/system.ts";

const PASSWORD = "alice-password";

/** Submits through the Service until stopped; a refused attempt is retried, as clients do. */
function keepSubmitting(service: string) {
  const delivered: Submission[] = [];
  const retried: Submission[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      let sent = await swaks(service, "alice@example.com", PASSWORD);
      while (sent.code !== 0 && running) {
        retried.push(sent);
        await sleep(200);
        sent = await swaks(service, "alice@example.com", PASSWORD);
      }
      if (sent.code === 0) delivered.push(sent);
    }
  })();
  return {
    delivered,
    retried,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Samples the gateway's pods every 100 ms until stopped: the fewest ready, the most alive. */
function watchPods(namespace: string) {
  let fewestReady = Number.POSITIVE_INFINITY;
  let mostAlive = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const pods: GatewayPod[] = await gatewayPods(namespace);
      const alive = pods.filter((p) => !p.terminating);
      fewestReady = Math.min(fewestReady, alive.filter((p) => p.ready).length);
      mostAlive = Math.max(mostAlive, alive.length);
      await sleep(100);
    }
  })();
  return async () => {
    running = false;
    await done;
    return { fewestReady, mostAlive };
  };
}

test("image and resource changes roll pods one at a time while mail flows; scaling 1 -> 3 -> 1", async (t) => {
  const ns = await restrictedNamespace(t);
  const upstream = await startUpstream(t);
  await installOperator(ns);
  await tlsSecret(ns);
  const replicas = 2;
  const withSpec = (spec: Record<string, unknown>, count = replicas) =>
    gateway(ns, upstream, { replicas: count, spec });
  await apply(withSpec({}));
  await addUser(ns, "alice", PASSWORD);
  await untilCondition("SmtpUser", ns, "alice", "Ready", "True", "Bound");
  await readyPods(ns, replicas);
  const service = await serviceAddress(ns);

  async function rollOut(what: string, spec: Record<string, unknown>) {
    const before = await readyPods(ns, replicas);
    const stopWatching = watchPods(ns);
    const client = keepSubmitting(service);
    await sleep(1000);
    await apply(withSpec(spec));
    const after = await untilReplaced(ns, before);
    await sleep(1000);
    await client.stop();
    const { fewestReady, mostAlive } = await stopWatching();
    process.stderr.write(
      `rollout (${what}): ${client.delivered.length} messages delivered during it, ` +
        `${client.retried.length} attempts refused and retried; ready pods never below ${fewestReady}, ` +
        `at most ${mostAlive} pods\n`,
    );
    assert.ok(client.delivered.length >= 3, "mail kept flowing");
    for (const sent of client.delivered) await assertRelayedOnce(upstream, sent.token);
    // A refused attempt is a temporary failure the client retries: a 4xx, or a connection closed by a
    // draining pod before any transaction; never a permanent (5xx) refusal.
    // And nothing the client was told failed reached the upstream: its retry is the only copy.
    for (const refused of client.retried) {
      assert.doesNotMatch(refused.output, /^<\S* +5\d\d /m, refused.output);
      assert.deepEqual(await upstreamCopies(upstream, refused.token), [], refused.output);
    }
    assert.ok(fewestReady >= replicas, `ready pods fell to ${fewestReady}`);
    assert.ok(mostAlive <= replicas + 1, `${mostAlive} pods at once: more than one at a time`);
    return after;
  }

  await t.test("a new image rolls the pods one at a time", async () => {
    const rolled = `${IMAGE.split(":")[0]}:e2e-rolled`;
    // The same image under another name: a pod-template change, as a new release would be.
    await ctr(["images", "tag", "--force", IMAGE, rolled]);
    const pods = await rollOut("image", { image: rolled });
    assert.ok(pods.every((p) => p.image === rolled));
  });

  await t.test("new resources roll the pods one at a time", async () => {
    await rollOut("resources", { pod: { resources: { requests: { cpu: "20m", memory: "96Mi" } } } });
  });

  await t.test("scaling 1 -> 3 -> 1 follows spec.replicas, and mail is served all along", async () => {
    for (const count of [1, 3, 1]) {
      await apply(withSpec({}, count));
      await readyPods(ns, count);
      const sent = await swaks(service, "alice@example.com", PASSWORD);
      assert.equal(sent.code, 0, sent.output);
      await assertRelayedOnce(upstream, sent.token);
    }
  });
});

/** Waits until none of `before` is left and the Deployment settled on new pods. */
async function untilReplaced(namespace: string, before: GatewayPod[]): Promise<GatewayPod[]> {
  const old = new Set(before.map((p) => p.uid));
  for (;;) {
    const pods = await readyPods(namespace, before.length);
    if (pods.every((p) => !old.has(p.uid))) return pods;
    await sleep(200);
  }
}

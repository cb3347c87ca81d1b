// The operator against the real control plane (kube-apiserver, etcd, kube-controller-manager): the
// real CLI reconciles SubmissionGateways and SmtpUsers into the objects of operator/README.md, and
// keeps them converged through changes, rotations, bad input and deletion.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { V1ConfigMap, V1Deployment, V1Secret } from "@kubernetes/client-node";
import { parse } from "yaml";
import { usersFileSchema } from "../gateway/credentials/users-file.ts";
import { freshNamespace } from "../hack/testing/cluster.ts";
import {
  apply,
  conditionOf,
  decode,
  eventually,
  installCrds,
  POSTERN,
  passwordSecret,
  read,
  remove,
  smtpUser,
  untilCondition,
} from "./testing/cluster-objects.ts";
import { startOperator } from "./testing/operator-process.ts";

before(installCrds);

const TLS = "tls-pair";

function gateway(namespace: string, name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: POSTERN,
    kind: "SubmissionGateway",
    metadata: { name, namespace },
    spec: { tls: { secretRef: { name: TLS } }, relay: { host: "relay.example.net" }, replicas: 2, ...spec },
  };
}

const user = smtpUser;

const tlsSecret = (namespace: string): V1Secret => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: TLS, namespace },
  type: "kubernetes.io/tls",
  data: {
    "tls.crt": Buffer.from("cert").toString("base64"),
    "tls.key": Buffer.from("key").toString("base64"),
  },
});

/** Every user in the gateway's shard Secrets, parsed as the gateway parses them. */
async function bundle(namespace: string, gw: string) {
  const users = new Map<string, { shard: string; entry: Record<string, unknown>; raw: string }>();
  for (let i = 0; i < 32; i++) {
    const name = `${gw}-credentials-${String(i).padStart(2, "0")}`;
    const secret = await read<V1Secret>("v1", "Secret", namespace, name);
    const text = decode(secret, "users.yaml");
    if (text === undefined) continue;
    const parsed = usersFileSchema.parse(parse(text));
    const raw = parse(text) as { users: Record<string, unknown>[] };
    for (const [index, u] of parsed.users.entries()) {
      users.set(u.username, { shard: name, entry: raw.users[index] ?? {}, raw: text });
    }
  }
  return users;
}

test("a gateway and its users become objects, verifiers and status; changes converge", async (t) => {
  const ns = await freshNamespace(t);
  const operator = await startOperator(t, { namespace: ns });
  await operator.waitForLog((l) => l.msg === "caches synced");
  for (const path of ["/healthz", "/readyz"]) {
    assert.equal((await fetch(`${operator.healthUrl}${path}`)).status, 200, path);
  }
  const metrics = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
  for (const name of [
    "controller_runtime_reconcile_total",
    "workqueue_depth",
    "leader_election_master_status",
  ]) {
    assert.match(metrics, new RegExp(`^# TYPE ${name} `, "m"), name);
  }
  await apply(tlsSecret(ns));
  await apply(passwordSecret(ns, "alice-pw", "alice-password-1"));
  await apply(passwordSecret(ns, "bob-pw", "bob-password-1"));
  await apply(gateway(ns, "corp"));
  await apply(user(ns, "alice"));
  await apply(user(ns, "bob"));

  await t.test("every child exists, labelled and owned by the gateway", async () => {
    const gw = await eventually("the gateway has a uid", () =>
      read(POSTERN, "SubmissionGateway", ns, "corp"),
    );
    const children: [string, string, string][] = [
      ["v1", "ServiceAccount", "corp"],
      ["v1", "ConfigMap", "corp-policy"],
      ["v1", "Secret", "corp-credentials"],
      ["apps/v1", "Deployment", "corp"],
      ["v1", "Service", "corp"],
      ["policy/v1", "PodDisruptionBudget", "corp"],
    ];
    for (const [apiVersion, kind, name] of children) {
      const object = await eventually(`${kind} ${name} exists`, () => read(apiVersion, kind, ns, name));
      assert.equal(object.metadata?.labels?.["app.kubernetes.io/managed-by"], "postern-operator", kind);
      assert.equal(object.metadata?.ownerReferences?.[0]?.uid, gw.metadata?.uid, kind);
      assert.equal(object.metadata?.ownerReferences?.[0]?.controller, true, kind);
    }
    const sa = await read<{ automountServiceAccountToken?: boolean } & V1Secret>(
      "v1",
      "ServiceAccount",
      ns,
      "corp",
    );
    assert.equal(sa?.automountServiceAccountToken, false);
  });

  await t.test("users are Ready, their verifiers in the bundle, no password anywhere", async () => {
    await untilCondition("SmtpUser", ns, "alice", "Ready", "True", "Bound");
    const bob = await untilCondition("SmtpUser", ns, "bob", "Ready", "True", "Bound");
    assert.equal((bob.status as { gateway?: string }).gateway, "corp");
    const users = await bundle(ns, "corp");
    assert.deepEqual([...users.keys()].sort(), ["alice@example.com", "bob@example.com"]);
    for (const { raw } of users.values()) {
      assert.doesNotMatch(raw, /alice-password-1|bob-password-1/);
      assert.match(raw, /\$argon2id\$/);
      assert.match(raw, /scramSha256/);
      assert.doesNotMatch(raw, /cramMd5/);
    }
    const gw = await untilCondition("SubmissionGateway", ns, "corp", "Progressing", "True");
    assert.equal((gw.status as { boundUsers?: number }).boundUsers, 2);
    assert.equal((gw.status as { observedGeneration?: number }).observedGeneration, gw.metadata?.generation);
    // No kubelet in this cluster: pods never become ready, and the status says so.
    assert.equal(conditionOf(gw, "Ready")?.reason, "NoReadyPods");
  });

  await t.test("rotating a password re-derives one user's verifiers in one shard only", async () => {
    const before = await bundle(ns, "corp");
    const shards = new Map<string, string | undefined>();
    for (let i = 0; i < 32; i++) {
      const name = `corp-credentials-${String(i).padStart(2, "0")}`;
      shards.set(name, (await read<V1Secret>("v1", "Secret", ns, name))?.metadata?.resourceVersion);
    }
    await apply(passwordSecret(ns, "alice-pw", "alice-password-2"));
    const after = await eventually("alice's verifiers change", async () => {
      const now = await bundle(ns, "corp");
      return now.get("alice@example.com")?.raw !== before.get("alice@example.com")?.raw ? now : undefined;
    });
    const aliceShard = after.get("alice@example.com")?.shard;
    assert.notDeepEqual(after.get("alice@example.com")?.entry, before.get("alice@example.com")?.entry);
    assert.deepEqual(after.get("bob@example.com")?.entry, before.get("bob@example.com")?.entry);
    for (const [name, version] of shards) {
      if (name === aliceShard) continue;
      assert.equal(
        (await read<V1Secret>("v1", "Secret", ns, name))?.metadata?.resourceVersion,
        version,
        name,
      );
    }
  });

  await t.test(
    "an unchanged password is not hashed again: relabelling its Secret changes no verifier",
    async () => {
      const before = await bundle(ns, "corp");
      const secret = passwordSecret(ns, "bob-pw", "bob-password-1");
      secret.metadata = { ...secret.metadata, labels: { touched: "yes" } };
      await apply(secret);
      await eventually("the operator saw the new Secret version", async () => {
        const shard = before.get("bob@example.com")?.shard ?? "";
        const sources = decode(await read<V1Secret>("v1", "Secret", ns, shard), "sources.json") ?? "";
        const current = await read<V1Secret>("v1", "Secret", ns, "bob-pw");
        return sources.includes(String(current?.metadata?.resourceVersion)) ? true : undefined;
      });
      assert.deepEqual(
        (await bundle(ns, "corp")).get("bob@example.com")?.entry,
        before.get("bob@example.com")?.entry,
      );
    },
  );

  await t.test(
    "disabling a user keeps its verifiers but marks it disabled; deleting removes it",
    async () => {
      await apply(user(ns, "bob", { disabled: true }));
      await untilCondition("SmtpUser", ns, "bob", "Ready", "False", "Disabled");
      await eventually("bob is disabled in the bundle", async () =>
        (await bundle(ns, "corp")).get("bob@example.com")?.entry.disabled === true ? true : undefined,
      );
      await remove(POSTERN, "SmtpUser", ns, "bob");
      await eventually("bob is gone from the bundle", async () =>
        (await bundle(ns, "corp")).has("bob@example.com") ? undefined : true,
      );
      const gw = await eventually("boundUsers is 1", async () => {
        const g = await read<{ status?: { boundUsers?: number } } & V1Secret>(
          POSTERN,
          "SubmissionGateway",
          ns,
          "corp",
        );
        return g?.status?.boundUsers === 1 ? g : undefined;
      });
      assert.ok(gw);
    },
  );

  await t.test(
    "a policy change reaches the ConfigMap without rolling the pods; an image change rolls them",
    async () => {
      const deployment = await read<V1Deployment>("apps/v1", "Deployment", ns, "corp");
      const template = JSON.stringify(deployment?.spec?.template);
      await apply(gateway(ns, "corp", { policy: { senderAlignment: "envelope" } }));
      await eventually("the ConfigMap has the new policy", async () => {
        const cm = await read<V1ConfigMap>("v1", "ConfigMap", ns, "corp-policy");
        return (parse(cm?.data?.["gateway.yaml"] ?? "") as { policy?: { senderAlignment?: string } }).policy
          ?.senderAlignment === "envelope"
          ? true
          : undefined;
      });
      const unchanged = await read<V1Deployment>("apps/v1", "Deployment", ns, "corp");
      assert.equal(JSON.stringify(unchanged?.spec?.template), template);
      await apply(
        gateway(ns, "corp", {
          policy: { senderAlignment: "envelope" },
          image: "localhost/postern/postern:v2",
        }),
      );
      await eventually("the Deployment runs the new image", async () => {
        const d = await read<V1Deployment>("apps/v1", "Deployment", ns, "corp");
        return d?.spec?.template.spec?.containers[0]?.image === "localhost/postern/postern:v2"
          ? true
          : undefined;
      });
    },
  );

  const replicaSeries = async () =>
    (await (await fetch(`${operator.metricsUrl}/metrics`)).text())
      .split("\n")
      .filter((l) => l.startsWith("postern_operator_gateway_replicas_") && l.includes(`namespace="${ns}"`));

  await t.test("the gateway's desired and ready replicas are gauges (no node here: none ready)", async () => {
    assert.deepEqual(
      await eventually("replica gauges", async () => {
        const series = await replicaSeries();
        return series.length === 2 ? series.sort() : undefined;
      }),
      [
        `postern_operator_gateway_replicas_desired{namespace="${ns}",gateway="corp"} 2`,
        `postern_operator_gateway_replicas_ready{namespace="${ns}",gateway="corp"} 0`,
      ],
    );
  });

  await t.test("deleting the gateway collects everything it owns, and its replica series", async () => {
    await remove(POSTERN, "SubmissionGateway", ns, "corp");
    await eventually("replica series removed", async () =>
      (await replicaSeries()).length === 0 ? true : undefined,
    );
    for (const [apiVersion, kind, name] of [
      ["apps/v1", "Deployment", "corp"],
      ["v1", "ConfigMap", "corp-policy"],
      ["v1", "Secret", "corp-credentials"],
      ["v1", "Service", "corp"],
    ] as const) {
      await eventually(
        `${kind} ${name} is garbage-collected`,
        async () => ((await read(apiVersion, kind, ns, name)) === undefined ? true : undefined),
        60_000,
      );
    }
    await untilCondition("SmtpUser", ns, "alice", "Ready", "False", "GatewayNotFound");
  });
});

test("bad input becomes conditions, never a crash", async (t) => {
  const ns = await freshNamespace(t);
  const operator = await startOperator(t, { namespace: ns });
  await apply(tlsSecret(ns));
  await apply(passwordSecret(ns, "alice-pw", "a-password"));
  await apply(gateway(ns, "corp"));

  await t.test("a user whose Secret is missing: SecretNotFound, then Bound once it appears", async () => {
    await apply(user(ns, "carol"));
    await untilCondition("SmtpUser", ns, "carol", "Ready", "False", "SecretNotFound");
    await apply(passwordSecret(ns, "carol-pw", "carol-password"));
    await untilCondition("SmtpUser", ns, "carol", "Ready", "True", "Bound");
  });

  await t.test("a user naming a gateway that does not exist: GatewayNotFound", async () => {
    await apply(user(ns, "dan", { gatewayRef: { name: "nowhere" } }));
    await untilCondition("SmtpUser", ns, "dan", "Ready", "False", "GatewayNotFound");
  });

  await t.test("colliding usernames: the older binds, the newer is DuplicateUsername", async () => {
    await apply(user(ns, "alice", { username: "Alice@Example.com" }));
    await untilCondition("SmtpUser", ns, "alice", "Ready", "True", "Bound");
    await apply(passwordSecret(ns, "alice2-pw", "other"));
    await apply(
      user(ns, "alice2", { username: "alice@example.COM", passwordSecretRef: { name: "alice2-pw" } }),
    );
    const dup = await untilCondition("SmtpUser", ns, "alice2", "Ready", "False", "DuplicateUsername");
    assert.match(conditionOf(dup, "Ready")?.message ?? "", /SmtpUser alice/);
    const still = await read(POSTERN, "SmtpUser", ns, "alice");
    assert.equal(conditionOf(still as never, "Ready")?.reason, "Bound");
  });

  await t.test("an invalid hash: InvalidCredentials on that user, the others stay bound", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "erin-hash", namespace: ns },
      data: { hash: Buffer.from("{MD5}not-a-scheme-we-take").toString("base64") },
    });
    await apply(
      user(ns, "erin", { passwordSecretRef: undefined, passwordHashSecretRef: { name: "erin-hash" } }),
    );
    await untilCondition("SmtpUser", ns, "erin", "Ready", "False", "InvalidCredentials");
    await untilCondition("SmtpUser", ns, "carol", "Ready", "True", "Bound");
  });

  await t.test(
    "a gateway whose listeners collide in the container: InvalidSpec naming the field",
    async () => {
      // 587 listens on container port 10587 (non-root cannot bind below 1024): the API cannot see this.
      await apply(
        gateway(ns, "clash", {
          listeners: [
            { name: "submission", port: 587, mode: "starttls" },
            { name: "alt", port: 10587, mode: "starttls" },
          ],
        }),
      );
      const gw = await untilCondition("SubmissionGateway", ns, "clash", "Ready", "False", "InvalidSpec");
      assert.match(conditionOf(gw, "Ready")?.message ?? "", /spec\.listeners/);
    },
  );

  await t.test("a missing TLS Secret: SecretNotFound on the gateway", async () => {
    await apply(gateway(ns, "notls", { tls: { secretRef: { name: "absent" } } }));
    const gw = await untilCondition("SubmissionGateway", ns, "notls", "Degraded", "True", "SecretNotFound");
    assert.match(conditionOf(gw, "Degraded")?.message ?? "", /absent/);
  });

  assert.equal(operator.child.exitCode, null, "the operator is still running");
});

// make bench-operator: the real postern-operator against a private real control plane, one run:
//   A. 10,000 SmtpUsers with passwordHashSecretRef (copied, never hashed): from the last object
//      applied until every user is Ready and in the credentials bundle; the operator's peak RSS.
//   B. 1,000 SmtpUsers with passwords (argon2id + SCRAM derived): derivations per second, against
//      the machine's limit measured in this run (cores × one derivation's rate on one core).
//   C. One credential changed among the 10,000: the API writes it causes (operator's own counter)
//      and the time until it is in force in the bundle.
// A benchmark, not a test: it prints figures and targets and fails only when it cannot measure.
// Knobs: BENCH_USERS (10000), BENCH_PASSWORD_USERS (1000), BENCH_APPLY_CONCURRENCY (32),
// OPERATOR_NODE_OPTIONS (default: the operator Deployment's, docs/operator.md#memory).
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubernetesObject, V1Secret } from "@kubernetes/client-node";
import { parse } from "yaml";
import { deriveVerifiers } from "../../gateway/credentials/derive.ts";
import { hashPassword } from "../../gateway/credentials/password-hash.ts";
import { KubeClient } from "../../operator/runtime/client.ts";
import { mapLimited } from "../../operator/runtime/limit.ts";
import { apply, installCrds, POSTERN, useKubeconfig } from "../../operator/testing/cluster-objects.ts";
import { type OperatorProcess, startOperator } from "../../operator/testing/operator-process.ts";
import { kubeConfig } from "../testing/cluster.ts";
import { startControlPlane } from "../testing/control-plane.ts";
import { readMemory } from "./proc-stats.ts";

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const PASSWORD_USERS = Number(process.env.BENCH_PASSWORD_USERS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_APPLY_CONCURRENCY ?? 32);
const NS = "bench";
const OPERATOR_NODE_OPTIONS = "--max-semi-space-size=1 --max-old-space-size=144";

const log = (text: string) => process.stderr.write(`bench-operator: ${text}\n`);
const seconds = (ms: number) => (ms / 1000).toFixed(2);

function gateway(name: string) {
  return {
    apiVersion: POSTERN,
    kind: "SubmissionGateway",
    metadata: { name, namespace: NS },
    spec: {
      replicas: 2,
      listeners: [{ name: "submission", port: 587, mode: "starttls" }],
      auth: { mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN"] },
      tls: { secretRef: { name: "bench-tls" } },
      relay: { host: "relay.example.net" },
    },
  };
}

function userObjects(gw: string, index: number, credential: { password?: string; hash?: string }) {
  const name = `${gw}-u${index}`;
  const key = credential.hash === undefined ? "password" : "hash";
  const secret: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `${name}-credential`, namespace: NS },
    data: { [key]: Buffer.from(credential.hash ?? credential.password ?? "").toString("base64") },
  };
  const ref = { name: `${name}-credential`, key };
  const user = {
    apiVersion: POSTERN,
    kind: "SmtpUser",
    metadata: { name, namespace: NS },
    spec: {
      gatewayRef: { name: gw },
      username: `${name}@example.com`,
      ...(credential.hash === undefined ? { passwordSecretRef: ref } : { passwordHashSecretRef: ref }),
      allowedSenders: [`${name}@example.com`],
    },
  };
  return { secret, user };
}

interface Listed {
  items: (KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } })[];
}

/** Users of `gw` that are Ready=True, counted from one list (as `kubectl get` would). */
async function readyUsers(client: KubeClient, gw: string): Promise<number> {
  const list = await client.get<Listed>(`/apis/postern.io/v1alpha1/namespaces/${NS}/smtpusers`, {
    query: { labelSelector: `bench-gateway=${gw}` },
  });
  return list.items.filter((u) =>
    u.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  ).length;
}

/** Usernames in the gateway's credentials bundle, and the raw users.yaml texts. */
async function bundle(client: KubeClient, gw: string): Promise<{ users: Set<string>; text: string }> {
  const list = await client.get<{ items: V1Secret[] }>(`/api/v1/namespaces/${NS}/secrets`, {
    query: { labelSelector: `postern.io/gateway=${gw}` },
  });
  const users = new Set<string>();
  let text = "";
  for (const secret of list.items) {
    const encoded = secret.data?.["users.yaml"];
    if (encoded === undefined) continue;
    const yaml = Buffer.from(encoded, "base64").toString("utf8");
    text += yaml;
    for (const u of (parse(yaml) as { users: { username: string }[] }).users) users.add(u.username);
  }
  return { users, text };
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await probe())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await sleep(250);
  }
  return performance.now();
}

/** The operator's own view of its memory (prom-client's process and Node.js metrics), for the log. */
async function memoryBreakdown(operator: OperatorProcess): Promise<string> {
  const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
  const mib = (name: string) => {
    const value = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1];
    return value === undefined ? "?" : `${(Number(value) / 2 ** 20).toFixed(0)} MiB`;
  };
  return `rss ${mib("postern_operator_process_resident_memory_bytes")}, heap total ${mib("postern_operator_nodejs_heap_size_total_bytes")}, heap used ${mib("postern_operator_nodejs_heap_size_used_bytes")}, external ${mib("postern_operator_nodejs_external_memory_bytes")}`;
}

async function writes(operator: OperatorProcess): Promise<Map<string, number>> {
  const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^postern_operator_api_writes_total\{([^}]*)\} (\d+(?:\.\d+)?)$/gm)) {
    counts.set(m[1] ?? "", Number(m[2]));
  }
  return counts;
}

function delta(before: Map<string, number>, after: Map<string, number>): string {
  const parts: string[] = [];
  for (const [labels, value] of after) {
    const d = value - (before.get(labels) ?? 0);
    if (d > 0) parts.push(`${d} ${labels.replace(/verb="([^"]*)",resource="([^"]*)"/, "$1 $2")}`);
  }
  return parts.join(", ") || "none";
}

/** One argon2id + SCRAM derivation's rate on one core, measured here, now. */
async function oneCoreRate(): Promise<number> {
  await deriveVerifiers("warm-up", { mechanisms: ["SCRAM-SHA-256", "PLAIN"] });
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < 3000) {
    await deriveVerifiers(`password-${count}`, {
      mechanisms: ["SCRAM-SHA-256", "PLAIN"],
      scramIterations: 4096,
    });
    count++;
  }
  return count / ((performance.now() - started) / 1000);
}

async function applyAll(objects: KubernetesObject[]): Promise<void> {
  await mapLimited(objects, CONCURRENCY, (o) => apply(o));
}

async function main(): Promise<void> {
  const cleanups: (() => unknown)[] = [];
  const owner = { after: (fn: () => unknown) => void cleanups.push(fn) };
  const rows: [string, string, string][] = [];
  try {
    log("starting a private control plane");
    const plane = await startControlPlane();
    cleanups.push(() => plane.stop());
    useKubeconfig(plane.kubeconfig);
    await installCrds();
    await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "bench-tls", namespace: NS },
      type: "kubernetes.io/tls",
      data: {
        "tls.crt": Buffer.from("c").toString("base64"),
        "tls.key": Buffer.from("k").toString("base64"),
      },
    });
    const client = KubeClient.fromKubeConfig(kubeConfig());
    const operator = await startOperator(owner, {
      namespace: NS,
      kubeconfig: plane.kubeconfig,
      args: ["--leader-elect=false", "--log-level=info"],
      // As the operator's Deployment runs it (docs/operator.md#memory).
      env: {
        NODE_OPTIONS: process.env.OPERATOR_NODE_OPTIONS ?? OPERATOR_NODE_OPTIONS,
        MALLOC_ARENA_MAX: "2",
      },
    });
    const pid = operator.child.pid as number;
    await operator.waitForLog((l) => l.msg === "caches synced");
    const idle = (await readMemory(pid)).rssBytes / 2 ** 20;

    // --- A: 10,000 users with hashes ---------------------------------------------------------------
    const hash = `{ARGON2ID}${await hashPassword("bench-password")}`;
    await apply(gateway("bulk"));
    const bulk = Array.from({ length: USERS }, (_, i) => userObjects("bulk", i, { hash }));
    for (const o of bulk)
      o.user.metadata = { ...o.user.metadata, labels: { "bench-gateway": "bulk" } } as never;
    log(`applying ${USERS} Secrets and ${USERS} SmtpUsers (${CONCURRENCY} at once)`);
    const applyStarted = performance.now();
    await applyAll(bulk.map((o) => o.secret));
    await applyAll(bulk.map((o) => o.user));
    const lastApplied = performance.now();
    log(`applied in ${seconds(lastApplied - applyStarted)} s; waiting until all are Ready and in the bundle`);
    const allReady = await until(
      "all users are Ready",
      async () => (await readyUsers(client, "bulk")) === USERS,
      600_000,
    );
    const inBundle = await until(
      "all users are in the bundle",
      async () => (await bundle(client, "bulk")).users.size === USERS,
      600_000,
    );
    const aSeconds = (Math.max(allReady, inBundle) - lastApplied) / 1000;
    const peak = (await readMemory(pid)).hwmBytes / 2 ** 20;
    log(`after A: ${await memoryBreakdown(operator)}`);
    rows.push([
      `A. ${USERS} hash users: last applied → all Ready and in the bundle`,
      `${aSeconds.toFixed(1)} s`,
      "≤ 30 s",
    ]);
    rows.push(["A. operator peak RSS (VmHWM) so far", `${peak.toFixed(0)} MiB`, "≤ 256 MiB"]);
    rows.push(["   (operator RSS idle, caches synced, before any user)", `${idle.toFixed(0)} MiB`, ""]);
    rows.push([
      "   (apply rate of this client, for scale)",
      `${((2 * USERS) / ((lastApplied - applyStarted) / 1000)).toFixed(0)} objects/s`,
      "",
    ]);

    // --- C: one credential changed among them -------------------------------------------------------
    const before = await writes(operator);
    const changedHash = `{ARGON2ID}${await hashPassword("changed-password")}`;
    const target = bulk[Math.floor(USERS / 2)] as (typeof bulk)[number];
    const digest = changedHash.slice("{ARGON2ID}".length);
    const changedAt = performance.now();
    await apply({ ...target.secret, data: { hash: Buffer.from(changedHash).toString("base64") } });
    const inForce = await until(
      "the changed hash is in the bundle",
      async () => (await bundle(client, "bulk")).text.includes(digest),
      60_000,
    );
    await sleep(2000); // let any trailing write land before counting
    const after = await writes(operator);
    rows.push([
      "C. one hash changed among them: time until in the bundle",
      `${seconds(inForce - changedAt)} s`,
      "",
    ]);
    rows.push(["C. API writes it caused", delta(before, after), "one shard Secret + one status"]);

    // --- B: 1,000 users with passwords: derivations ----------------------------------------------------
    const users = Array.from({ length: PASSWORD_USERS }, (_, i) =>
      userObjects("derive", i, { password: `password-${i}-${Math.random()}` }),
    );
    for (const o of users)
      o.user.metadata = { ...o.user.metadata, labels: { "bench-gateway": "derive" } } as never;
    log(`applying ${PASSWORD_USERS} password users before their gateway exists`);
    await applyAll(users.map((o) => o.secret));
    await applyAll(users.map((o) => o.user));
    // Every user seen (GatewayNotFound) before the gateway appears: the gateway then starts the derivations.
    await until(
      "the operator saw every password user",
      async () => {
        const list = await client.get<Listed>(`/apis/postern.io/v1alpha1/namespaces/${NS}/smtpusers`, {
          query: { labelSelector: "bench-gateway=derive" },
        });
        return list.items.filter((u) => (u.status?.conditions?.length ?? 0) > 0).length === PASSWORD_USERS;
      },
      300_000,
    );
    const limitPerCore = await oneCoreRate();
    const cores = availableParallelism();
    const gatewayApplied = Date.now();
    await apply(gateway("derive"));
    const derivedLine = await operator.waitForLog(
      (l) => l.msg === "verifiers derived" && String(l.gateway).endsWith("/derive"),
      600_000,
    );
    const derived = Number(derivedLine.derived);
    const deriveSeconds = (Number(derivedLine.time) - gatewayApplied) / 1000;
    const rate = derived / deriveSeconds;
    await until(
      "every password user is Ready",
      async () => (await readyUsers(client, "derive")) === PASSWORD_USERS,
      600_000,
    );
    const readySeconds = (Date.now() - gatewayApplied) / 1000;
    rows.push([
      `B. ${derived} derivations (argon2id + SCRAM-SHA-256, 4096 iterations)`,
      `${deriveSeconds.toFixed(1)} s`,
      "",
    ]);
    rows.push(["B. operator derivations per second", rate.toFixed(1), ""]);
    rows.push([
      `B. machine limit: ${cores} cores × ${limitPerCore.toFixed(1)}/s on one core`,
      (cores * limitPerCore).toFixed(1),
      "",
    ]);
    rows.push([
      "B. operator rate / machine limit",
      `${((100 * rate) / (cores * limitPerCore)).toFixed(0)} %`,
      "≥ 80 %",
    ]);
    rows.push([`B. gateway applied → all ${PASSWORD_USERS} Ready`, `${readySeconds.toFixed(1)} s`, ""]);
    rows.push([
      "operator peak RSS (VmHWM), whole run",
      `${((await readMemory(pid)).hwmBytes / 2 ** 20).toFixed(0)} MiB`,
      "≤ 256 MiB",
    ]);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
  const width = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(
    `\n${"what".padEnd(width)} | figure | target\n${"-".repeat(width)}-|--------|-------\n`,
  );
  for (const [what, figure, target] of rows)
    process.stdout.write(`${what.padEnd(width)} | ${figure} | ${target}\n`);
}

await main();

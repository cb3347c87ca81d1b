// The operator/gateway contract end to end: two real gateway processes, each in a network namespace of
// its own (as two pods), started from exactly the files the operator wrote to the real API server, laid
// out as kubelet lays out the Deployment's volumes. Real clients (swaks for PLAIN, gsasl for
// SCRAM-SHA-256) log in with every user's password; after a rotation the new password works and the
// old one is refused on both; an unknown user gets the same SCRAM salt from both.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, type TestContext, test } from "node:test";
import type { V1Secret } from "@kubernetes/client-node";
import { testPki } from "../gateway/testing/certificates.ts";
import { freshNamespace } from "../hack/testing/cluster.ts";
import { repoRoot } from "../hack/testing/control-plane.ts";
import {
  apply,
  decode,
  eventually,
  installCrds,
  POSTERN,
  passwordSecret,
  read,
  smtpUser,
  untilCondition,
} from "./testing/cluster-objects.ts";
import { type NetworkNamespace, networkNamespace } from "./testing/netns.ts";
import { startOperator } from "./testing/operator-process.ts";
import { writePodFiles } from "./testing/pod-files.ts";

before(installCrds);

const USERS = { alice: "alice-first-password", bob: "bob-first-password" } as const;
const SUBMISSION = 10587; // the container port of listener 587 (see operator/README.md)

interface Pod {
  ns: NetworkNamespace;
  root: string;
  gateway: ChildProcess;
}

/** Starts a gateway from `root`'s files inside its own network namespace; resolves once it listens. */
async function startPod(t: TestContext, root: string, configDir: string): Promise<Pod> {
  const ns = await networkNamespace(t);
  const gateway = ns.spawn(process.execPath, [
    join(repoRoot, "gateway/cli/postern-gateway.ts"),
    "--config",
    configDir,
  ]);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"gateway started"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    gateway.stdout?.on("data", onData);
    gateway.stderr?.on("data", onData);
    gateway.once("exit", (code) => reject(new Error(`gateway exited (${code}): ${output}`)));
  });
  return { ns, root, gateway };
}

async function plainLogin(pod: Pod, username: string, password: string): Promise<boolean> {
  const result = await pod.ns.run("swaks", [
    "--server",
    `127.0.0.1:${SUBMISSION}`,
    "--tls",
    "--auth",
    "PLAIN",
    "--auth-user",
    username,
    "--auth-password",
    password,
    "--quit-after",
    "AUTH",
  ]);
  const output = result.stdout + result.stderr;
  if (/^<~ +235 2\.7\.0/m.test(output)) return true;
  assert.match(output, /^<~\* +535 5\.7\.8/m, output);
  return false;
}

async function scram(pod: Pod, ca: string, username: string, password: string) {
  const result = await pod.ns.run("gsasl", [
    "--smtp",
    "--connect",
    `127.0.0.1:${SUBMISSION}`,
    "--starttls",
    `--x509-ca-file=${ca}`,
    "--no-cb",
    "--mechanism",
    "SCRAM-SHA-256",
    "--authentication-id",
    username,
    "--password",
    password,
  ]);
  const output = result.stdout + result.stderr;
  const challenge = /^334 (\S+)$/m.exec(output)?.[1] ?? "";
  const salt = /(?:^|,)s=([^,]+)/.exec(Buffer.from(challenge, "base64").toString("utf8"))?.[1];
  return { ok: result.code === 0 && /^235 2\.7\.0/m.test(output), salt, output };
}

test("two gateways from the operator's files: every password, rotation, one decoy salt", async (t) => {
  const namespace = await freshNamespace(t);
  await startOperator(t, { namespace });
  const pki = await testPki();
  await apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "corp-tls", namespace },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": (await readFile(pki.serverCert)).toString("base64"),
      "tls.key": (await readFile(pki.serverKey)).toString("base64"),
    },
  });
  for (const [name, password] of Object.entries(USERS)) {
    await apply(passwordSecret(namespace, `${name}-pw`, password));
    await apply(smtpUser(namespace, name));
  }
  await apply({
    apiVersion: POSTERN,
    kind: "SubmissionGateway",
    metadata: { name: "corp", namespace },
    spec: {
      tls: { secretRef: { name: "corp-tls" } },
      auth: { mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN"] },
      relay: { host: "127.0.0.1", port: 2525, tls: { mode: "none" } },
    },
  });
  for (const name of Object.keys(USERS))
    await untilCondition("SmtpUser", namespace, name, "Ready", "True", "Bound");

  const pods: Pod[] = [];
  for (let i = 0; i < 2; i++) {
    const root = await mkdtemp(join(tmpdir(), `postern-pod-${i}-`));
    t.after(() => rm(root, { recursive: true, force: true }));
    const configDir = await writePodFiles(root, namespace, "corp");
    pods.push(await startPod(t, root, configDir));
  }

  await t.test("every user logs in on both gateways with PLAIN and SCRAM-SHA-256", async () => {
    for (const pod of pods) {
      for (const [name, password] of Object.entries(USERS)) {
        assert.equal(await plainLogin(pod, `${name}@example.com`, password), true, `PLAIN ${name}`);
        const result = await scram(pod, pki.caCert, `${name}@example.com`, password);
        assert.equal(result.ok, true, result.output);
      }
      assert.equal(await plainLogin(pod, "alice@example.com", "wrong"), false);
    }
  });

  await t.test("an unknown user gets the same SCRAM salt from both gateways", async () => {
    const salts = await Promise.all(pods.map((pod) => scram(pod, pki.caCert, "nobody@example.com", "x")));
    for (const s of salts) assert.equal(s.ok, false, s.output);
    assert.ok(salts[0]?.salt, salts[0]?.output);
    assert.equal(salts[1]?.salt, salts[0]?.salt);
    // And it is not a real user's salt scheme leaking: a known user's salt differs.
    const known = await scram(pods[0] as Pod, pki.caCert, "alice@example.com", "x");
    assert.notEqual(known.salt, salts[0]?.salt);
  });

  await t.test("after a rotation the new password works and the old one fails, on both", async () => {
    const shards = async () => {
      const texts: string[] = [];
      for (let i = 0; i < 32; i++) {
        const name = `corp-credentials-${String(i).padStart(2, "0")}`;
        texts.push(decode(await read<V1Secret>("v1", "Secret", namespace, name), "users.yaml") ?? "");
      }
      return texts.join("\n");
    };
    const before = await shards();
    await apply(passwordSecret(namespace, "alice-pw", "alice-second-password"));
    await eventually("the operator re-derived alice's verifiers", async () =>
      (await shards()) !== before ? true : undefined,
    );
    for (const pod of pods) await writePodFiles(pod.root, namespace, "corp"); // kubelet's swap
    for (const pod of pods) {
      await eventually(
        "the gateway reloaded the new verifiers",
        async () =>
          (await plainLogin(pod, "alice@example.com", "alice-second-password")) ? true : undefined,
        10_000,
      );
      assert.equal(await plainLogin(pod, "alice@example.com", USERS.alice), false);
      assert.equal((await scram(pod, pki.caCert, "alice@example.com", USERS.alice)).ok, false);
      assert.equal((await scram(pod, pki.caCert, "alice@example.com", "alice-second-password")).ok, true);
      assert.equal(await plainLogin(pod, "bob@example.com", USERS.bob), true);
    }
  });

  // What the decoy salt rests on: one key, in the operator's Secret, mounted by every pod.
  const key = decode(await read<V1Secret>("v1", "Secret", namespace, "corp-credentials"), "scram-decoy.key");
  assert.equal(Buffer.from(key ?? "", "base64").length, 32);
});

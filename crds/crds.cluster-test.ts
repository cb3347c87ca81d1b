// The generated CRDs against a real kube-apiserver: they install, the examples apply, every CEL rule's cases
// get the verdict zod gives them (with the rule's message), and the server fills in the defaults zod does.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { freshNamespace, kubectl } from "../hack/testing/cluster.ts";
import { allRules, type RuleName } from "./cel.ts";
import {
  gatewayTakesSender,
  gatewayTakesUsername,
  senderSamples,
  usernameSamples,
} from "./gateway-agreement.ts";
import { gateway, ruleCases, user } from "./rule-cases.ts";
import { parseSmtpUser } from "./schema/smtp-user.ts";
import { parseSubmissionGateway } from "./schema/submission-gateway.ts";

const generatedDir = join(import.meta.dirname, "generated");
const examplesDir = join(import.meta.dirname, "../examples");
const crdNames = ["submissiongateways.postern.io", "smtpusers.postern.io"];

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: unknown;
}

async function ok(args: string[], opts: { input?: string; namespace?: string } = {}) {
  const result = await kubectl(args, opts);
  assert.equal(result.code, 0, `kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Runs kubectl until it succeeds, for up to 30 seconds: what it asks about appears a little after the change
 * that makes it (`kubectl wait` fails outright on a CRD whose status the API server has not written yet).
 */
async function eventually(args: string[]): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const result = await kubectl(args);
    if (result.code === 0 || Date.now() > deadline) {
      assert.equal(result.code, 0, `kubectl ${args.join(" ")}: ${result.stderr}`);
      return result.stdout;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Asks the API server whether it would create `manifest`, storing nothing. */
const dryRun = (manifest: unknown, namespace: string) =>
  kubectl(["create", "--dry-run=server", "-f", "-"], { namespace, input: JSON.stringify(manifest) });

/** What zod makes of a Postern manifest: the defaulted spec the operator will see. */
function zodSpec(manifest: Manifest) {
  const result = manifest.kind === "SmtpUser" ? parseSmtpUser(manifest) : parseSubmissionGateway(manifest);
  if (!result.ok) assert.fail(`${manifest.metadata.name}: ${result.error}`);
  return result.value.spec;
}

before(async () => {
  // CRDs are cluster-wide and other test files may install them too: server-side apply is idempotent.
  for (const file of readdirSync(generatedDir)) {
    await ok(["apply", "--server-side", "--force-conflicts", "-f", join(generatedDir, file)]);
  }
  await eventually([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    ...crdNames.map((n) => `crd/${n}`),
  ]);
});

test("the CRDs are established, with their names accepted", async () => {
  for (const name of crdNames) {
    const crd = JSON.parse(await ok(["get", "crd", name, "-o", "json"]));
    const conditions = new Map(
      crd.status.conditions.map((c: { type: string; status: string }) => [c.type, c.status]),
    );
    assert.equal(conditions.get("Established"), "True", name);
    assert.equal(conditions.get("NamesAccepted"), "True", name);
  }
});

/** `kubectl explain` reads the OpenAPI document, which the API server publishes for a new CRD a
 *  little after it is Established; retry until it appears. */
const explain = (path: string) => eventually(["explain", path]);

test("kubectl explain documents the API", async () => {
  const listeners = await explain("submissiongateways.spec.listeners");
  assert.match(listeners, /Ports the gateway accepts mail on/);
  assert.match(listeners, /mode\s+<string> -required-/);
  const password = await explain("smtpuser.spec.passwordHashSecretRef");
  assert.match(password, /\{SCHEME\}/);
});

for (const file of readdirSync(examplesDir).filter((name) => name.endsWith(".yaml"))) {
  test(`examples/${file} applies, and the API server's defaults are zod's`, async (t) => {
    const namespace = await freshNamespace(t);
    await ok(["apply", "-f", join(examplesDir, file)], { namespace });
    const manifests = parseAllDocuments(readFileSync(join(examplesDir, file), "utf8")).map(
      (doc) => doc.toJS() as Manifest,
    );
    for (const manifest of manifests.filter((m) => m.kind !== "Secret")) {
      const stored = JSON.parse(
        await ok(["get", manifest.kind, manifest.metadata.name, "-o", "json"], { namespace }),
      );
      assert.deepEqual(stored.spec, zodSpec(manifest), `${manifest.kind}/${manifest.metadata.name}`);
    }
    const listed = await ok(["get", "postern", "-o", "name"], { namespace });
    assert.equal(listed.trim().split("\n").length, manifests.filter((m) => m.kind !== "Secret").length);
  });
}

test("the API server applies zod's defaults to minimal objects", async (t) => {
  const namespace = await freshNamespace(t);
  for (const manifest of [gateway(), user()]) {
    await ok(["create", "-f", "-"], { namespace, input: JSON.stringify(manifest) });
    const stored = JSON.parse(
      await ok(["get", manifest.kind, manifest.metadata.name, "-o", "json"], { namespace }),
    );
    assert.deepEqual(stored.spec, zodSpec(manifest), manifest.kind);
  }
});

test("the API server enforces every CEL rule, with the rule's message", async (t) => {
  const namespace = await freshNamespace(t);
  for (const [name, { accepted, refused }] of Object.entries(ruleCases)) {
    await t.test(name, async () => {
      for (const manifest of accepted) {
        const result = await dryRun(manifest, namespace);
        assert.equal(result.code, 0, `${JSON.stringify(manifest.spec)}: ${result.stderr}`);
      }
      for (const manifest of refused) {
        const result = await dryRun(manifest, namespace);
        assert.notEqual(result.code, 0, `accepted ${JSON.stringify(manifest.spec)}`);
        assert.ok(result.stderr.includes(allRules[name as RuleName].message), result.stderr);
      }
    });
  }
});

test("the API server's patterns take exactly the usernames and senders the gateway takes", async (t) => {
  const namespace = await freshNamespace(t);
  const cases = [
    ...usernameSamples.map((username) => ({
      manifest: user({ username }),
      gateway: gatewayTakesUsername(username),
    })),
    ...senderSamples.map((sender) => ({
      manifest: user({ allowedSenders: [sender] }),
      gateway: gatewayTakesSender(sender),
    })),
  ];
  // A few kubectl processes at a time: one per sample would take long, all at once would crowd the machine.
  for (let start = 0; start < cases.length; start += 8) {
    await Promise.all(
      cases.slice(start, start + 8).map(async ({ manifest, gateway }) => {
        const result = await dryRun(manifest, namespace);
        assert.equal(result.code === 0, gateway, `${JSON.stringify(manifest.spec)}: ${result.stderr}`);
      }),
    );
  }
});

test("kubectl shows the printer columns, short names and field selector", async (t) => {
  const namespace = await freshNamespace(t);
  const corp = { ...gateway(), metadata: { name: "corp" } };
  await ok(["create", "-f", "-"], { namespace, input: JSON.stringify(corp) });
  await ok(["create", "-f", "-"], { namespace, input: JSON.stringify(user()) });
  const ready = {
    status: {
      observedGeneration: 1,
      readyReplicas: 2,
      boundUsers: 1,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Available",
          message: "gateway accepts mail",
          lastTransitionTime: "2025-01-01T00:00:00Z",
        },
      ],
    },
  };
  await ok(["patch", "sgw", "corp", "--subresource=status", "--type=merge", "-p", JSON.stringify(ready)], {
    namespace,
  });

  const gateways = (await ok(["get", "sgw"], { namespace })).trim().split("\n");
  assert.match(gateways[0] ?? "", /^NAME\s+READY\s+USERS\s+REPLICAS\s+AGE$/);
  assert.match(gateways[1] ?? "", /^corp\s+True\s+1\s+2\s+\S+$/);
  const users = (
    await ok(["get", "smtpuser", "--field-selector", "spec.gatewayRef.name=corp"], { namespace })
  )
    .trim()
    .split("\n");
  assert.match(users[0] ?? "", /^NAME\s+GATEWAY\s+READY\s+SENDERS\s+AGE$/);
  assert.match(users[1] ?? "", /^rule-case\s+corp\s+\S*\s+\["app@example.com"\]/);
  const none = await ok(["get", "smtpuser", "--field-selector", "spec.gatewayRef.name=other", "-o", "name"], {
    namespace,
  });
  assert.equal(none.trim(), "");
});

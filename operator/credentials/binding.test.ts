import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Secret } from "@kubernetes/client-node";
import { parseSubmissionGateway, type SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { bindUsers } from "./binding.ts";

const gateway = (userSelector?: object): SubmissionGateway => {
  const parsed = parseSubmissionGateway({
    apiVersion: "postern.io/v1alpha1",
    kind: "SubmissionGateway",
    metadata: { name: "corp", namespace: "mail" },
    spec: {
      tls: { secretRef: { name: "corp-tls" } },
      relay: { host: "smtp.example.com" },
      ...(userSelector ? { userSelector } : {}),
    },
  });
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  return parsed.value;
};

function user(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) {
  return {
    apiVersion: "postern.io/v1alpha1",
    kind: "SmtpUser",
    metadata: { name, namespace: "mail", creationTimestamp: "2026-12-01T10:00:00Z", ...meta },
    spec: {
      gatewayRef: { name: "corp" },
      passwordSecretRef: { name: `${name}-pw` },
      allowedSenders: [`${name}@example.com`],
      ...spec,
    },
  };
}

const secret = (name: string, data: Record<string, string>, resourceVersion = "7"): V1Secret => ({
  metadata: { name, namespace: "mail", uid: `uid-${name}`, resourceVersion },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
});

const secrets =
  (...list: V1Secret[]) =>
  (name: string) =>
    list.find((s) => s.metadata?.name === name);

test("a valid user with its Secret binds; the source carries the password and a fingerprint without it", () => {
  const result = bindUsers(gateway(), [user("alice")], secrets(secret("alice-pw", { password: "pw1" })));
  assert.equal(result.verdicts.get("mail/alice")?.reason, "Bound");
  assert.equal(result.bound.length, 1);
  const [bound] = result.bound;
  assert.equal(bound?.username, "alice");
  assert.equal(bound?.key, "alice");
  assert.deepEqual(bound?.source, {
    kind: "password",
    password: "pw1",
    fingerprint: { secretUid: "uid-alice-pw", resourceVersion: "7", key: "password" },
  });
});

test("a hash user carries the hash, trimmed", () => {
  const u = user("bob", { passwordSecretRef: undefined, passwordHashSecretRef: { name: "bob-hash" } });
  const result = bindUsers(gateway(), [u], secrets(secret("bob-hash", { hash: "{BLF-CRYPT}$2y$05$abc\n" })));
  assert.equal(result.bound[0]?.source.kind, "hash");
  assert.equal(
    result.bound[0]?.source.kind === "hash" && result.bound[0].source.hash,
    "{BLF-CRYPT}$2y$05$abc",
  );
});

test("missing Secret or key: SecretNotFound on that user only", () => {
  const result = bindUsers(
    gateway(),
    [user("alice"), user("carol"), user("dave")],
    secrets(secret("alice-pw", { password: "x" }), secret("carol-pw", { other: "x" })),
  );
  assert.equal(result.verdicts.get("mail/alice")?.reason, "Bound");
  assert.equal(result.verdicts.get("mail/carol")?.reason, "SecretNotFound");
  assert.match(result.verdicts.get("mail/carol")?.message ?? "", /key password of Secret carol-pw/);
  assert.equal(result.verdicts.get("mail/dave")?.reason, "SecretNotFound");
  assert.deepEqual(
    result.bound.map((b) => b.objectKey),
    ["mail/alice"],
  );
});

test("no gateway, an invalid gateway, a selector that excludes", () => {
  const users = [user("alice")];
  const lookup = secrets(secret("alice-pw", { password: "x" }));
  assert.equal(bindUsers(undefined, users, lookup).verdicts.get("mail/alice")?.reason, "GatewayNotFound");
  assert.equal(
    bindUsers("spec.relay: required", users, lookup).verdicts.get("mail/alice")?.reason,
    "GatewayInvalid",
  );
  const selective = gateway({ matchLabels: { team: "billing" } });
  assert.equal(bindUsers(selective, users, lookup).verdicts.get("mail/alice")?.reason, "NotSelected");
  const labelled = [user("alice", {}, { labels: { team: "billing" } })];
  assert.equal(bindUsers(selective, labelled, lookup).verdicts.get("mail/alice")?.reason, "Bound");
});

test("an invalid spec is reported on that user, the others still bind", () => {
  const bad = user("eve", { allowedSenders: [] });
  const result = bindUsers(gateway(), [bad, user("alice")], secrets(secret("alice-pw", { password: "x" })));
  assert.equal(result.verdicts.get("mail/eve")?.reason, "InvalidSpec");
  assert.match(result.verdicts.get("mail/eve")?.message ?? "", /spec\.allowedSenders/);
  assert.equal(result.verdicts.get("mail/alice")?.reason, "Bound");
});

test("colliding usernames under case and Unicode folding: the older binds, the newer is DuplicateUsername", () => {
  const older = user(
    "a1",
    { username: "Jos\u00e9@Example.com" },
    { creationTimestamp: "2026-01-01T00:00:00Z" },
  );
  const newer = user(
    "a2",
    { username: "jose\u0301@example.com" },
    { creationTimestamp: "2026-06-01T00:00:00Z" },
  );
  const lookup = secrets(secret("a1-pw", { password: "x" }), secret("a2-pw", { password: "y" }));
  for (const order of [
    [older, newer],
    [newer, older],
  ]) {
    const result = bindUsers(gateway(), order, lookup);
    assert.equal(result.verdicts.get("mail/a1")?.reason, "Bound");
    assert.equal(result.verdicts.get("mail/a2")?.reason, "DuplicateUsername");
    assert.match(result.verdicts.get("mail/a2")?.message ?? "", /SmtpUser a1/);
    assert.deepEqual(
      result.bound.map((b) => b.objectKey),
      ["mail/a1"],
    );
  }
});

test("the older user keeps its name while its Secret is missing", () => {
  const older = user("a1", { username: "x@example.com" }, { creationTimestamp: "2026-01-01T00:00:00Z" });
  const newer = user("a2", { username: "X@example.com" }, { creationTimestamp: "2026-06-01T00:00:00Z" });
  const result = bindUsers(gateway(), [older, newer], secrets(secret("a2-pw", { password: "y" })));
  assert.equal(result.verdicts.get("mail/a1")?.reason, "SecretNotFound");
  assert.equal(result.verdicts.get("mail/a2")?.reason, "DuplicateUsername");
});

test("a disabled user stays in the bundle (so re-enabling is instant) but is reported Disabled", () => {
  const result = bindUsers(
    gateway(),
    [user("alice", { disabled: true })],
    secrets(secret("alice-pw", { password: "x" })),
  );
  assert.equal(result.verdicts.get("mail/alice")?.reason, "Disabled");
  assert.equal(result.bound.length, 1);
});

test("serviceAccountRef is NotImplemented", () => {
  const u = user("svc", { passwordSecretRef: undefined, serviceAccountRef: { name: "app" } });
  assert.equal(bindUsers(gateway(), [u], secrets()).verdicts.get("mail/svc")?.reason, "NotImplemented");
});

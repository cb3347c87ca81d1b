import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { parseSmtpUser, type SmtpUser } from "./schema/smtp-user.ts";
import { parseSubmissionGateway, type SubmissionGateway } from "./schema/submission-gateway.ts";

const dir = join(import.meta.dirname, "../examples");
const files = readdirSync(dir).filter((name) => name.endsWith(".yaml"));

function manifests(file: string): { kind: string; metadata: { name: string } }[] {
  return parseAllDocuments(readFileSync(join(dir, file), "utf8")).map((doc) => {
    assert.deepEqual(doc.errors, [], file);
    return doc.toJS();
  });
}

const all = files.flatMap(manifests);
const valid = <T>(result: { ok: true; value: T } | { ok: false }) => (result.ok ? [result.value] : []);
const gateways: SubmissionGateway[] = all.flatMap((m) =>
  m.kind === "SubmissionGateway" ? valid(parseSubmissionGateway(m)) : [],
);
const users: SmtpUser[] = all.flatMap((m) => (m.kind === "SmtpUser" ? valid(parseSmtpUser(m)) : []));

describe("examples", () => {
  it("exist, one per setup the README lists", () => {
    const readme = readFileSync(join(dir, "README.md"), "utf8");
    assert.ok(files.length >= 3);
    for (const file of files) assert.ok(readme.includes(`](${file})`), `README.md does not describe ${file}`);
  });

  for (const file of files) {
    it(`${file}: every Postern object validates`, () => {
      for (const manifest of manifests(file)) {
        const name = `${manifest.kind}/${manifest.metadata.name}`;
        if (manifest.kind === "SubmissionGateway" || manifest.kind === "SmtpUser") {
          const result =
            manifest.kind === "SmtpUser" ? parseSmtpUser(manifest) : parseSubmissionGateway(manifest);
          assert.ok(result.ok, `${name}: ${result.ok || result.error}`);
        } else {
          assert.equal(
            manifest.kind,
            "Secret",
            `${file}: only Postern objects and Secrets belong in examples`,
          );
        }
        assert.equal("namespace" in manifest.metadata, false, `${name}: examples apply into any namespace`);
      }
    });
  }

  it("hold both kinds", () => {
    assert.ok(gateways.length > 0 && users.length > 0);
  });

  it("bind every user to a gateway of the examples that selects it and can serve its credential", () => {
    for (const user of users) {
      const gateway = gateways.find((g) => g.metadata.name === user.spec.gatewayRef.name);
      assert.ok(gateway, `${user.metadata.name}: no gateway ${user.spec.gatewayRef.name}`);
      for (const [key, value] of Object.entries(gateway.spec.userSelector?.matchLabels ?? {})) {
        assert.equal(
          user.metadata.labels?.[key],
          value,
          `${user.metadata.name}: not selected by its gateway`,
        );
      }
      if (user.spec.passwordHashSecretRef) {
        const usable = gateway.spec.auth.mechanisms.filter((m) => m === "PLAIN" || m === "LOGIN");
        assert.ok(usable.length > 0, `${user.metadata.name}: a hash serves only PLAIN and LOGIN`);
      }
    }
  });

  it("define every Secret they refer to, except the certificates cert-manager writes", () => {
    const secrets = new Set(all.filter((m) => m.kind === "Secret").map((m) => m.metadata.name));
    const referenced = [
      ...gateways.flatMap(({ spec }) => [spec.relay.auth?.secretRef, spec.relay.tls.caSecretRef]),
      ...users.flatMap(({ spec }) => [spec.passwordSecretRef, spec.passwordHashSecretRef]),
    ];
    for (const ref of referenced)
      if (ref) assert.ok(secrets.has(ref.name), `Secret ${ref.name} is not defined`);
  });
});

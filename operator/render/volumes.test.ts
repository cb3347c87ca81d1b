import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { everything, gatewayOf } from "./test-fixtures.ts";
import { FILE_MODE, podVolumes } from "./volumes.ts";

const secretVolume = (secretName: string, items: [string, string][]) => ({
  secret: { secretName, items: items.map(([key, path]) => ({ key, path })), defaultMode: 0o440 },
});

describe("podVolumes", () => {
  it("mount the contract's paths, read-only but /tmp", () => {
    const { volumeMounts } = podVolumes("corp", gatewayOf(everything).spec);
    assert.deepEqual(volumeMounts, [
      { name: "config", mountPath: "/etc/postern/config", readOnly: true },
      { name: "credentials", mountPath: "/etc/postern/credentials", readOnly: true },
      { name: "tls", mountPath: "/etc/postern/tls", readOnly: true },
      { name: "upstream-auth", mountPath: "/etc/postern/upstream-auth", readOnly: true },
      { name: "upstream-ca", mountPath: "/etc/postern/upstream-ca", readOnly: true },
      { name: "client-ca", mountPath: "/etc/postern/client-ca", readOnly: true },
      { name: "jwks", mountPath: "/etc/postern/jwks", readOnly: true },
      { name: "tmp", mountPath: "/tmp" },
    ]);
  });

  it("take the user's Secrets under the file names the gateway reads, whatever their keys", () => {
    const { volumes } = podVolumes("corp", gatewayOf(everything).spec);
    const byName = new Map(volumes.map(({ name, ...source }) => [name, source]));
    assert.deepEqual(byName.get("config"), {
      configMap: {
        name: "corp-policy",
        items: [{ key: "gateway.yaml", path: "gateway.yaml" }],
        defaultMode: 0o440,
      },
    });
    assert.deepEqual(
      byName.get("tls"),
      secretVolume("corp-tls", [
        ["tls.crt", "tls.crt"],
        ["tls.key", "tls.key"],
      ]),
    );
    assert.deepEqual(
      byName.get("upstream-auth"),
      secretVolume("corp-relay-login", [
        ["username", "username"],
        ["password", "password"],
      ]),
    );
    assert.deepEqual(byName.get("upstream-ca"), secretVolume("corp-root-ca", [["ca.crt", "ca.crt"]]));
    assert.deepEqual(byName.get("client-ca"), secretVolume("corp-client-ca", [["bundle.pem", "ca.crt"]]));
    assert.deepEqual(byName.get("jwks"), secretVolume("corp-jwks", [["jwks.json", "jwks.json"]]));
    assert.deepEqual(byName.get("tmp"), { emptyDir: { sizeLimit: "64Mi" } });
  });

  it("put the decoy key and all 32 shard slots, optional, in one projected volume", () => {
    const { volumes } = podVolumes("corp", gatewayOf().spec);
    const credentials = volumes.find((v) => v.name === "credentials");
    assert.equal(credentials?.projected?.defaultMode, FILE_MODE);
    const sources = credentials?.projected?.sources ?? [];
    assert.equal(sources.length, 33);
    assert.deepEqual(sources[0], {
      secret: { name: "corp-credentials", items: [{ key: "scram-decoy.key", path: "scram-decoy.key" }] },
    });
    sources.slice(1).forEach((source, index) => {
      const nn = String(index).padStart(2, "0");
      assert.deepEqual(source, {
        secret: {
          name: `corp-credentials-${nn}`,
          optional: true,
          items: [{ key: "users.yaml", path: `users-${nn}.yaml` }],
        },
      });
    });
  });

  it("leave out the Secrets a spec does not name", () => {
    const { volumes, volumeMounts } = podVolumes(
      "corp",
      gatewayOf({
        tls: undefined,
        listeners: [{ name: "submission", port: 587, mode: "starttls" }],
        auth: { mechanisms: ["SCRAM-SHA-256"] },
      }).spec,
    );
    assert.deepEqual(
      volumes.map((v) => v.name),
      ["config", "credentials", "tmp"],
    );
    assert.deepEqual(
      volumeMounts.map((m) => m.name),
      ["config", "credentials", "tmp"],
    );
  });

  it("mount a JWKS only from a Secret, not for a key set URL", () => {
    const spec = gatewayOf({
      auth: {
        mechanisms: ["OAUTHBEARER"],
        oauth: { issuer: "https://id.example.com", audience: "smtp", jwksURI: "https://id.example.com/keys" },
      },
    }).spec;
    assert.equal(
      podVolumes("corp", spec).volumes.some((v) => v.name === "jwks"),
      false,
    );
  });

  it("let the non-root user read every file through the pod's fsGroup, and no one write", () => {
    assert.equal(FILE_MODE, 0o440);
    for (const volume of podVolumes("corp", gatewayOf(everything).spec).volumes) {
      const mode =
        volume.secret?.defaultMode ?? volume.configMap?.defaultMode ?? volume.projected?.defaultMode;
      if (volume.emptyDir === undefined) assert.equal(mode, FILE_MODE, volume.name);
    }
  });
});

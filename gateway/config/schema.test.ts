// gateway.yaml validation: defaults, and every cross-field rule with a passing and a failing case,
// reported the way start-up prints them (file, field path, message).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { GatewayConfigSchema } from "./schema.ts";
import { ConfigError, parseYamlText } from "./yaml-file.ts";

const base = {
  listeners: [{ name: "submission", port: 587, mode: "starttls" }],
  tls: {},
  upstream: { host: "smarthost.example.net" },
};

function errors(config: unknown): string {
  try {
    parseYamlText("gateway.yaml", stringify(config), GatewayConfigSchema);
    return "";
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
}

describe("gateway.yaml", () => {
  it("fills in production defaults", () => {
    const cfg = GatewayConfigSchema.parse(base);
    assert.deepEqual(cfg.auth.mechanisms, ["SCRAM-SHA-256", "PLAIN", "LOGIN"]);
    assert.equal(cfg.upstream.tls, "starttls");
    assert.equal(cfg.upstream.verifyCertificate, true);
    assert.equal(cfg.policy.senderAlignment, "both");
    assert.equal(cfg.auth.bruteForce.maxFailuresPerConnection, 3);
    assert.equal(cfg.limits.shutdownGraceSeconds, 25);
    assert.equal(cfg.http.perUserMetrics, false);
  });

  it("takes either credentials source, and a decoy key file with either", () => {
    const keyFile = "credentials/scram-decoy.key";
    for (const auth of [{ credentialsDir: "credentials" }, { credentialsFile: "users.yaml" }]) {
      const cfg = GatewayConfigSchema.parse({ ...base, auth: { ...auth, scramDecoyKeyFile: keyFile } });
      assert.equal(cfg.auth.scramDecoyKeyFile, keyFile);
    }
  });

  it("refuses an unknown field anywhere, naming the file and the field", () => {
    assert.equal(
      errors({ ...base, policy: { senderAligment: "envelope" } }),
      "gateway.yaml: policy.senderAligment: unknown field",
    );
    assert.equal(
      errors({
        ...base,
        auth: {
          bruteForce: { perUser: { maxFailures: 3, windowSeconds: 60, lockoutSeconds: 60, lockout: 60 } },
        },
      }),
      "gateway.yaml: auth.bruteForce.perUser.lockout: unknown field",
    );
    assert.equal(errors({ ...base, listner: [] }), "gateway.yaml: listner: unknown field");
  });

  it("names the file and field of a bad value", () => {
    assert.match(
      errors({ ...base, listeners: [{ name: "submission", port: 70000, mode: "starttls" }] }),
      /^gateway\.yaml: listeners\[0\]\.port: /,
    );
  });

  const rules: [string, unknown, RegExp][] = [
    [
      "a port used twice",
      { ...base, listeners: [...base.listeners, { name: "b", port: 587, mode: "relay-port" }] },
      /listeners\[1\]\.port: port 587 is used twice/,
    ],
    [
      "implicit TLS without tls",
      { ...base, tls: undefined, listeners: [{ name: "s", port: 465, mode: "implicit-tls" }] },
      /listeners\[0\]\.mode: implicit-tls needs tls/,
    ],
    [
      "EXTERNAL without a client CA",
      { ...base, auth: { mechanisms: ["EXTERNAL"] } },
      /auth\.mechanisms: EXTERNAL needs tls\.clientCaFile/,
    ],
    [
      "both a credentials directory and a credentials file",
      { ...base, auth: { credentialsDir: "credentials", credentialsFile: "credentials/users.yaml" } },
      /^gateway\.yaml: auth\.credentialsDir: set credentialsDir or credentialsFile, not both$/,
    ],
    [
      "OAuth mechanisms without an issuer",
      { ...base, auth: { mechanisms: ["OAUTHBEARER"] } },
      /auth\.oauth: XOAUTH2\/OAUTHBEARER need auth\.oauth/,
    ],
    [
      "upstream credentials in the clear to another host",
      {
        ...base,
        upstream: {
          host: "smarthost.example.net",
          tls: "none",
          auth: { usernameFile: "u", passwordFile: "p" },
        },
      },
      /upstream\.auth: upstream credentials need upstream\.tls/,
    ],
    [
      "a JWKS over plain http to another host",
      {
        ...base,
        auth: {
          mechanisms: ["OAUTHBEARER"],
          oauth: { issuer: "https://id.example", audience: "smtp", jwksUrl: "http://id.example/jwks" },
        },
      },
      /auth\.oauth\.jwksUrl: must be https/,
    ],
  ];
  for (const [name, config, message] of rules) {
    it(`refuses ${name}`, () => assert.match(errors(config), message));
  }

  it("allows plain upstream credentials and a plain-http JWKS on loopback only", () => {
    assert.equal(
      errors({
        ...base,
        upstream: { host: "127.0.0.1", tls: "none", auth: { usernameFile: "u", passwordFile: "p" } },
      }),
      "",
    );
    const oauth = { issuer: "https://id.example", audience: "smtp", jwksUrl: "http://127.0.0.1:8080/jwks" };
    assert.equal(errors({ ...base, auth: { mechanisms: ["OAUTHBEARER"], oauth } }), "");
  });
});

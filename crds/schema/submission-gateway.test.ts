import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { gateway } from "../rule-cases.ts";
import {
  parseSubmissionGateway,
  type SubmissionGatewayManifest,
  saslMechanisms,
} from "./submission-gateway.ts";

function parsed(manifest: unknown) {
  const result = parseSubmissionGateway(manifest);
  if (!result.ok) assert.fail(result.error);
  return result.value;
}

function issues(manifest: unknown) {
  const result = parseSubmissionGateway(manifest);
  assert.equal(result.ok, false, "expected the manifest to be refused");
  return result.ok ? [] : result.issues;
}

const minimal: SubmissionGatewayManifest = {
  apiVersion: "postern.io/v1alpha1",
  kind: "SubmissionGateway",
  metadata: { name: "corp", namespace: "mail" },
  spec: { tls: { secretRef: { name: "corp-tls" } }, relay: { host: "smtp.example.com" } },
};

describe("SubmissionGateway defaults", () => {
  it("fill in every defaulted field of a minimal gateway, nested objects included", () => {
    assert.deepEqual(parsed(minimal).spec, {
      replicas: 2,
      listeners: [
        { name: "submission", port: 587, mode: "starttls" },
        { name: "submissions", port: 465, mode: "implicit-tls" },
      ],
      tls: { secretRef: { name: "corp-tls" }, minVersion: "TLSv1.2" },
      auth: {
        mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN"],
        scramIterations: 4096,
        bruteForce: { maxFailuresPerConnection: 3, maxFailures: 10, window: "15m", lockout: "15m" },
      },
      policy: { senderAlignment: "both", maxMessageSize: "25Mi", maxRecipients: 100 },
      relay: {
        host: "smtp.example.com",
        port: 587,
        tls: { mode: "starttls", insecureSkipVerify: false },
        pool: { maxConnections: 50 },
        timeouts: { connect: "10s", socket: "60s" },
      },
      service: { type: "ClusterIP" },
      observability: {
        metricsPort: 9090,
        perUserMetrics: false,
        serviceMonitor: { enabled: false, interval: "30s" },
      },
    });
  });

  it("fill in fields inside objects the user wrote only in part", () => {
    const spec = parsed(gateway({ relay: { host: "relay", auth: { secretRef: { name: "login" } } } })).spec;
    assert.deepEqual(spec.relay.auth, { secretRef: { name: "login" }, mechanism: "PLAIN" });
    assert.equal(spec.relay.tls.mode, "starttls");
  });

  it("leave what the user set alone", () => {
    const spec = parsed(gateway({ replicas: 0, auth: { mechanisms: ["SCRAM-SHA-256"] } })).spec;
    assert.equal(spec.replicas, 0);
    assert.deepEqual(spec.auth.mechanisms, ["SCRAM-SHA-256"]);
  });
});

describe("SubmissionGateway validation", () => {
  it("names the field at fault, as the API server would", () => {
    const bad = gateway({ listeners: [{ name: "submission", port: 70000, mode: "starttls" }] });
    assert.deepEqual(
      issues(bad).map((issue) => issue.path),
      ["spec.listeners[0].port"],
    );
  });

  it("requires the relay", () => {
    const { relay: _, ...spec } = minimal.spec;
    assert.deepEqual(
      issues({ ...minimal, spec }).map((issue) => issue.path),
      ["spec.relay"],
    );
  });

  it("refuses another apiVersion or kind", () => {
    assert.deepEqual(
      issues({ ...minimal, apiVersion: "postern.io/v1" }).map((issue) => issue.path),
      ["apiVersion"],
    );
    assert.deepEqual(
      issues({ ...minimal, kind: "SmtpUser" }).map((issue) => issue.path),
      ["kind"],
    );
  });

  it("keeps listener names unique, like the API server's list-map", () => {
    const twice = gateway({
      listeners: [
        { name: "submission", port: 587, mode: "starttls" },
        { name: "submission", port: 588, mode: "starttls" },
      ],
    });
    assert.deepEqual(
      issues(twice).map((issue) => issue.path),
      ["spec.listeners[1]"],
    );
  });

  it("keeps mechanisms unique, like the API server's list-set", () => {
    const twice = gateway({ auth: { mechanisms: ["PLAIN", "PLAIN"] } });
    assert.deepEqual(
      issues(twice).map((issue) => issue.path),
      ["spec.auth.mechanisms[1]"],
    );
  });

  it("accepts Go-style durations longer than zero and refuses anything else", () => {
    for (const window of ["500ms", "30s", "1h30m", "0h1ms", "0m0010s"]) {
      parsed(gateway({ auth: { bruteForce: { window } } }));
    }
    for (const window of ["5 minutes", "-1s", "1d", "1.5h", "", "0s", "0h00m0ms"]) {
      assert.deepEqual(
        issues(gateway({ auth: { bruteForce: { window } } })).map((issue) => issue.path),
        ["spec.auth.bruteForce.window"],
        window,
      );
    }
  });

  it("takes rate-limit windows in whole seconds only", () => {
    for (const window of ["90s", "15m", "1h30m"]) parsed(gateway({ policy: { rateLimit: { window } } }));
    for (const window of ["1500ms", "1d", "1.5h", "", "0s"]) {
      const paths = issues(gateway({ policy: { rateLimit: { window } } })).map((issue) => issue.path);
      assert.deepEqual(new Set(paths), new Set(["spec.policy.rateLimit.window"]), window);
    }
  });

  it("forgets the fields the gateway cannot honour", () => {
    const spec = parsed(
      gateway({
        relay: {
          host: "smtp.example.com",
          tls: { serverName: "relay.example.com" },
          pool: { maxMessagesPerConnection: 10 },
          timeouts: { greeting: "5s" },
        },
        service: { proxyProtocol: { trustedSources: ["10.0.0.0/8"] } },
      } as Partial<SubmissionGatewayManifest["spec"]>),
    ).spec;
    assert.deepEqual(spec.relay.tls, { mode: "starttls", insecureSkipVerify: false });
    assert.deepEqual(spec.relay.pool, { maxConnections: 50 });
    assert.deepEqual(spec.relay.timeouts, { connect: "10s", socket: "60s" });
    assert.deepEqual(spec.service, { type: "ClusterIP" });
  });

  it("authenticates to the relay only with the mechanisms the gateway's client has", () => {
    const relay = (mechanism: string) =>
      gateway({
        relay: { host: "smtp.example.com", auth: { secretRef: { name: "login" }, mechanism } },
      } as Partial<SubmissionGatewayManifest["spec"]>);
    for (const mechanism of ["PLAIN", "LOGIN", "XOAUTH2"]) parsed(relay(mechanism));
    assert.deepEqual(
      issues(relay("CRAM-MD5")).map((issue) => issue.path),
      ["spec.relay.auth.mechanism"],
    );
  });

  it("takes sizes as integers or Kubernetes quantities", () => {
    for (const maxMessageSize of [10485760, "10Mi", "10M", "1e7"])
      parsed(gateway({ policy: { maxMessageSize } }));
    for (const maxMessageSize of ["10 MB", "ten", 1.5]) {
      assert.equal(
        parseSubmissionGateway(gateway({ policy: { maxMessageSize } })).ok,
        false,
        String(maxMessageSize),
      );
    }
  });

  it("takes only https issuers and http(s) OTLP endpoints", () => {
    const oauth = (issuer: string) =>
      gateway({
        auth: {
          mechanisms: ["OAUTHBEARER"],
          oauth: { issuer, audience: "smtp", jwksSecretRef: { name: "issuer-keys" } },
        },
      });
    parsed(oauth("https://login.example.com/realms/mail"));
    assert.equal(parseSubmissionGateway(oauth("http://login.example.com")).ok, false);
    const tracing = (otlpEndpoint: string) => gateway({ observability: { tracing: { otlpEndpoint } } });
    parsed(tracing("http://collector:4318/v1/traces"));
    assert.equal(parseSubmissionGateway(tracing("grpc://collector:4317")).ok, false);
  });

  it("drops unknown fields, as the API server prunes them", () => {
    const value = parsed({ ...minimal, spec: { ...minimal.spec, replica: 3 } });
    assert.equal("replica" in value.spec, false);
    assert.equal(value.spec.replicas, 2);
  });
});

/** Specs built from the parts users vary most; every one is valid. */
const specs = fc.record({
  replicas: fc.integer({ min: 0, max: 10 }),
  listeners: fc.uniqueArray(
    fc.record({
      name: fc.constantFrom("submission", "submissions", "legacy", "internal"),
      port: fc.integer({ min: 1, max: 9000 }),
      mode: fc.constantFrom("starttls" as const, "implicit-tls" as const, "relay-port" as const),
    }),
    { minLength: 1, maxLength: 4, selector: (l) => l.name, comparator: "SameValueZero" },
  ),
  mechanisms: fc.uniqueArray(fc.constantFrom(...saslMechanisms), { minLength: 1 }),
  maxMessageSize: fc.oneof(fc.integer({ min: 1 }), fc.constantFrom("25Mi", "1G", "500k")),
});

describe("SubmissionGateway round trips", () => {
  it("parsing is idempotent and survives JSON, for any valid gateway", () => {
    fc.assert(
      fc.property(specs, ({ replicas, listeners, mechanisms, maxMessageSize }) => {
        fc.pre(new Set(listeners.map((l) => l.port)).size === listeners.length);
        fc.pre(!listeners.some((l) => l.port === 9090));
        const manifest = gateway({
          replicas,
          listeners,
          auth: {
            mechanisms,
            oauth: { issuer: "https://login.example.com", audience: "smtp", jwksSecretRef: { name: "keys" } },
            external: { clientCASecretRef: { name: "client-ca" } },
          },
          policy: { maxMessageSize },
        });
        const once = parsed(manifest);
        assert.deepEqual(parsed(JSON.parse(JSON.stringify(once))), once);
      }),
    );
  });
});

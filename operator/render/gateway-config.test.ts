import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { GatewayConfigSchema } from "../../gateway/config/schema.ts";
import { gatewayConfig, gatewayConfigYaml, rateLimitConfig } from "./gateway-config.ts";
import { everything, exampleGateways, gatewayOf, renderErrorOf } from "./test-fixtures.ts";

const representative = [
  { name: "a minimal gateway", gateway: gatewayOf() },
  { name: "a gateway setting every field", gateway: gatewayOf(everything) },
  {
    name: "SCRAM only, without TLS, to a plaintext relay",
    gateway: gatewayOf({
      tls: undefined,
      listeners: [{ name: "submission", port: 587, mode: "starttls" }],
      auth: { mechanisms: ["SCRAM-SHA-256", "CRAM-MD5"] },
      relay: { host: "postfix.mail.svc.cluster.local", port: 25, tls: { mode: "none" } },
    }),
  },
  {
    name: "OAuth with a JWKS URL, a relay login over STARTTLS",
    gateway: gatewayOf({
      auth: {
        mechanisms: ["OAUTHBEARER", "PLAIN"],
        oauth: { issuer: "https://id.example.com", audience: "smtp", jwksURI: "https://id.example.com/keys" },
      },
      relay: { host: "smtp.example.com", auth: { secretRef: { name: "login" }, mechanism: "LOGIN" } },
    }),
  },
  ...exampleGateways(),
];

describe("gateway.yaml", () => {
  for (const { name, gateway } of representative) {
    it(`for ${name} is a configuration the gateway accepts`, () => {
      const text = gatewayConfigYaml(gateway);
      const result = GatewayConfigSchema.safeParse(parse(text));
      assert.ok(result.success, result.success ? "" : JSON.stringify(result.error.issues));
      // The gateway knows the fields the contract relies on (zod would drop unknown ones).
      assert.equal(result.data.auth.credentialsDir, "../credentials");
      assert.equal(result.data.auth.scramDecoyKeyFile, "../credentials/scram-decoy.key");
      assert.equal(result.data.auth.credentialsFile, undefined);
    });
  }

  it("maps a listener's proxyProtocol.trustedCIDRs, and leaves the other listeners without", () => {
    const gateway = gatewayOf({
      listeners: [
        {
          name: "submission",
          port: 587,
          mode: "starttls",
          proxyProtocol: { trustedCIDRs: ["10.0.0.0/8", "2001:db8::/32"] },
        },
        { name: "submissions", port: 465, mode: "implicit-tls" },
      ],
    });
    const listeners = gatewayConfig(gateway).listeners;
    assert.deepEqual(listeners[0], {
      name: "submission",
      address: "0.0.0.0",
      port: 10587,
      mode: "starttls",
      proxyProtocol: { trustedCidrs: ["10.0.0.0/8", "2001:db8::/32"] },
    });
    assert.equal("proxyProtocol" in (listeners[1] ?? {}), false);
    const parsed = GatewayConfigSchema.parse(parse(gatewayConfigYaml(gateway)));
    assert.deepEqual(parsed.listeners[0]?.proxyProtocol, { trustedCidrs: ["10.0.0.0/8", "2001:db8::/32"] });
  });

  it("maps every field of the spec", () => {
    assert.deepEqual(gatewayConfig(gatewayOf(everything)), {
      hostname: "corp.mail.svc",
      listeners: [
        { name: "submission", address: "0.0.0.0", port: 10587, mode: "starttls" },
        { name: "submissions", address: "0.0.0.0", port: 10465, mode: "implicit-tls" },
        { name: "legacy", address: "0.0.0.0", port: 2525, mode: "relay-port" },
      ],
      tls: {
        certFile: "../tls/tls.crt",
        keyFile: "../tls/tls.key",
        minVersion: "TLSv1.3",
        clientCaFile: "../client-ca/ca.crt",
      },
      auth: {
        mechanisms: ["SCRAM-SHA-256", "PLAIN", "OAUTHBEARER", "XOAUTH2", "EXTERNAL"],
        credentialsDir: "../credentials",
        scramDecoyKeyFile: "../credentials/scram-decoy.key",
        oauth: {
          issuer: "https://login.example.com",
          audience: "smtp",
          jwksFile: "../jwks/jwks.json",
          usernameClaim: "preferred_username",
          tokenTypes: ["at+jwt", "JWT"],
          scope: "smtp.send openid",
          maxTokenAgeSeconds: 1800,
        },
        certificateIdentity: "subject.CN",
        bruteForce: {
          maxFailuresPerConnection: 2,
          perAddress: { maxFailures: 5, windowSeconds: 600, lockoutSeconds: 5400 },
          perUser: { maxFailures: 5, windowSeconds: 600, lockoutSeconds: 5400 },
        },
      },
      upstream: {
        host: "smtp.office365.com",
        port: 465,
        tls: "implicit",
        verifyCertificate: false,
        caFile: "../upstream-ca/ca.crt",
        pool: 10,
        auth: {
          mechanism: "XOAUTH2",
          usernameFile: "../upstream-auth/username",
          tokenFile: "../upstream-auth/password",
        },
        connectionTimeoutSeconds: 5,
        socketTimeoutSeconds: 120,
      },
      limits: {
        maxMessageBytes: 35 * 1024 * 1024,
        maxRecipients: 200,
        maxTransactionsPerUser: 8,
        shutdownGraceSeconds: 25,
      },
      policy: { senderAlignment: "header", rateLimit: { messages: 500, windowSeconds: 3600 } },
      http: { port: 9100, perUserMetrics: true },
    });
  });

  it("maps a minimal spec's defaults, leaving out what it does not set", () => {
    assert.deepEqual(gatewayConfig(gatewayOf()), {
      hostname: "corp.mail.svc",
      listeners: [
        { name: "submission", address: "0.0.0.0", port: 10587, mode: "starttls" },
        { name: "submissions", address: "0.0.0.0", port: 10465, mode: "implicit-tls" },
      ],
      tls: {
        certFile: "../tls/tls.crt",
        keyFile: "../tls/tls.key",
        minVersion: "TLSv1.2",
      },
      auth: {
        mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN"],
        credentialsDir: "../credentials",
        scramDecoyKeyFile: "../credentials/scram-decoy.key",
        bruteForce: {
          maxFailuresPerConnection: 3,
          perAddress: { maxFailures: 10, windowSeconds: 900, lockoutSeconds: 900 },
          perUser: { maxFailures: 10, windowSeconds: 900, lockoutSeconds: 900 },
        },
      },
      upstream: {
        host: "smtp.example.com",
        port: 587,
        tls: "starttls",
        verifyCertificate: true,
        pool: 50,
        connectionTimeoutSeconds: 10,
        socketTimeoutSeconds: 60,
      },
      limits: {
        maxMessageBytes: 25 * 1024 * 1024,
        maxRecipients: 100,
        maxTransactionsPerUser: 40,
        shutdownGraceSeconds: 25,
      },
      policy: { senderAlignment: "both" },
      http: { port: 9090 },
    });
  });

  it("maps the OAuth key set URL, the SAN identity and a password login", () => {
    const config = gatewayConfig(
      gatewayOf({
        auth: {
          mechanisms: ["XOAUTH2", "EXTERNAL"],
          oauth: {
            issuer: "https://id.example.com",
            audience: "smtp",
            jwksURI: "https://id.example.com/keys",
          },
          external: { clientCASecretRef: { name: "ca" } },
        },
        relay: { host: "relay", auth: { secretRef: { name: "login" } } },
      }),
    );
    assert.deepEqual(config.auth?.oauth, {
      issuer: "https://id.example.com",
      audience: "smtp",
      jwksUrl: "https://id.example.com/keys",
      usernameClaim: "email",
      tokenTypes: ["at+jwt"],
      maxTokenAgeSeconds: 3600,
    });
    assert.equal(config.auth?.certificateIdentity, "subjectAltName.email");
    assert.deepEqual(config.upstream.auth, {
      mechanism: "PLAIN",
      usernameFile: "../upstream-auth/username",
      passwordFile: "../upstream-auth/password",
    });
  });

  it("maps each relay TLS mode", () => {
    const modes = { starttls: "starttls", "implicit-tls": "implicit", none: "none" } as const;
    for (const [mode, tls] of Object.entries(modes)) {
      const config = gatewayConfig(
        gatewayOf({ relay: { host: "relay", tls: { mode: mode as keyof typeof modes } } }),
      );
      assert.equal(config.upstream.tls, tls);
    }
  });

  it("keeps one user from taking the whole upstream pool, at the gateway's ratio", () => {
    const perUser = (maxConnections: number) =>
      gatewayConfig(gatewayOf({ relay: { host: "relay", pool: { maxConnections } } })).limits
        ?.maxTransactionsPerUser;
    assert.deepEqual([1, 2, 10, 50, 100, 1000].map(perUser), [1, 1, 8, 40, 40, 40]);
  });

  it("takes the message size in any Quantity spelling", () => {
    const bytes = (maxMessageSize: string | number) =>
      gatewayConfig(gatewayOf({ policy: { maxMessageSize } })).limits?.maxMessageBytes;
    assert.equal(bytes("10M"), 10_000_000);
    assert.equal(bytes(4096), 4096);
    assert.equal(bytes("1.5Mi"), 1_572_864);
  });

  it("refuses a message size the gateway does not take", () => {
    for (const maxMessageSize of ["1000", "100m", "1e0.5", "16Pi"]) {
      renderErrorOf(
        () => gatewayConfig(gatewayOf({ policy: { maxMessageSize } })),
        "spec.policy.maxMessageSize",
      );
    }
  });

  it("passes on listener port collisions as RenderErrors", () => {
    const gateway = gatewayOf({ observability: { metricsPort: 10465 } });
    renderErrorOf(() => gatewayConfigYaml(gateway), "spec.listeners[1].port");
  });

  it("is text that says where it came from and reads back as the object", () => {
    const gateway = gatewayOf(everything);
    const text = gatewayConfigYaml(gateway);
    assert.match(text, /^# Rendered by postern-operator from SubmissionGateway mail\/corp/);
    assert.deepEqual(parse(text), gatewayConfig(gateway));
    assert.doesNotMatch(text, /[&*]a\d/, "no YAML anchors or aliases");
  });

  it("is the same text for the same spec", () => {
    assert.equal(gatewayConfigYaml(gatewayOf(everything)), gatewayConfigYaml(gatewayOf(everything)));
  });
});

describe("rateLimitConfig", () => {
  it("gives the window in seconds and leaves out unset limits", () => {
    assert.deepEqual(rateLimitConfig({ recipients: 20, window: "1h30m" }), {
      recipients: 20,
      windowSeconds: 5400,
    });
    assert.deepEqual(rateLimitConfig({ messages: 5, recipients: undefined, window: "90s" }), {
      messages: 5,
      windowSeconds: 90,
    });
  });
});

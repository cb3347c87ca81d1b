import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import pino from "pino";
import { AuthThrottle } from "../auth/throttle.ts";
import { GatewayConfigSchema } from "../config/schema.ts";
import { deriveVerifiers } from "../credentials/derive.ts";
import { CredentialStore } from "../credentials/store.ts";
import { usersFileSchema, type VerifiersInput } from "../credentials/users-file.ts";
import { createMetrics } from "../observability/metrics.ts";
import { authSettings } from "./gateway-state.ts";

const config = GatewayConfigSchema.parse({
  hostname: "mx.example.test",
  listeners: [{ name: "submission", port: 587, mode: "starttls" }],
  tls: {},
  upstream: { host: "smarthost.example.net" },
  auth: { mechanisms: ["PLAIN"], bruteForce: { failureDelaySeconds: 2, maxFailuresPerConnection: 4 } },
});
let verifiers: VerifiersInput;
before(async () => {
  verifiers = await deriveVerifiers("pw");
});
const storeAllowing = (cidr: string) =>
  new CredentialStore(
    usersFileSchema.parse({
      users: [{ username: "alice@example.test", senders: [], allowedCidrs: [cidr], verifiers }],
    }),
  );

describe("authSettings", () => {
  const metrics = createMetrics();
  const throttle = new AuthThrottle(config.auth.bruteForce, metrics);

  it("takes the AUTH command's settings from the policy", () => {
    const auth = authSettings(
      { config, store: storeAllowing("10.0.0.0/8"), bearer: undefined },
      throttle,
      metrics,
      pino({ enabled: false }),
    );
    assert.deepEqual(auth.enabled, ["PLAIN"]);
    assert.equal(auth.serverName, "mx.example.test");
    assert.equal(auth.maxFailuresPerConnection, 4);
    assert.equal(auth.failureDelayMs, 2000);
    assert.equal(auth.throttle, throttle);
  });

  it("checks a user's source addresses against the store its sources hold when asked", () => {
    const sources = { config, store: storeAllowing("10.0.0.0/8"), bearer: undefined };
    const auth = authSettings(sources, throttle, metrics, pino({ enabled: false }));
    // A credentials reload swaps the store; until the settings are rebuilt, the source check already
    // reads the new one (the SASL backend keeps the store it was built with).
    assert.equal(auth.sourceAllowed("alice@example.test", "10.1.2.3"), true);
    assert.equal(auth.sourceAllowed("alice@example.test", "192.0.2.1"), false);
    sources.store = storeAllowing("192.0.2.0/24");
    assert.equal(auth.sourceAllowed("alice@example.test", "192.0.2.1"), true);
  });
});

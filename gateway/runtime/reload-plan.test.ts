import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GatewayConfigSchema } from "../config/schema.ts";
import { restartOnlyChanges } from "./reload-plan.ts";

const base = GatewayConfigSchema.parse({
  listeners: [{ name: "submission", port: 587, mode: "starttls" }],
  tls: {},
  upstream: { host: "smarthost.example.net" },
});
const parse = (patch: Record<string, unknown>) => GatewayConfigSchema.parse({ ...base, ...patch });

describe("restartOnlyChanges", () => {
  it("names nothing for changes a running gateway applies", () => {
    const next = parse({
      tls: { minVersion: "TLSv1.3" },
      auth: { bruteForce: { maxDelaySeconds: 5 } },
      limits: { maxRecipients: 5 },
    });
    assert.deepEqual(restartOnlyChanges(base, next), []);
  });

  it("names listeners, adding or removing tls, and the HTTP address and port", () => {
    const next = parse({
      listeners: [{ name: "submission", port: 2587, mode: "starttls" }],
      tls: undefined,
      http: { address: "127.0.0.1", port: 9091 },
    });
    assert.deepEqual(restartOnlyChanges(base, next), ["listeners", "tls", "http.address", "http.port"]);
  });
});

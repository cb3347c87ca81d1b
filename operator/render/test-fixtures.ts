// Gateways for the render tests: parsed through the API's own schema, so defaults apply as the
// operator sees them, with the metadata the API server adds (namespace, uid).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import {
  parseSubmissionGateway,
  type SubmissionGateway,
  type SubmissionGatewayManifest,
} from "../../crds/schema/submission-gateway.ts";
import { RenderError } from "./errors.ts";

type Spec = SubmissionGatewayManifest["spec"];

export const UID = "9d6b3c1e-4c35-4d0f-9a43-2f7b0d1c5e11";

/** A parsed gateway `corp` in namespace `mail`; `spec` replaces or adds fields of a minimal one. */
export function gatewayOf(
  spec: Partial<Spec> = {},
  metadata: Record<string, unknown> = {},
): SubmissionGateway {
  const parsed = parseSubmissionGateway({
    apiVersion: "postern.io/v1alpha1",
    kind: "SubmissionGateway",
    metadata: { name: "corp", namespace: "mail", uid: UID, ...metadata },
    spec: { tls: { secretRef: { name: "corp-tls" } }, relay: { host: "smtp.example.com" }, ...spec },
  });
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  return parsed.value;
}

/** A gateway that sets every optional field the renderers read. */
export const everything: Partial<Spec> = {
  replicas: 3,
  image: "registry.example.com/postern/gateway:1.2.3",
  listeners: [
    { name: "submission", port: 587, mode: "starttls" },
    { name: "submissions", port: 465, mode: "implicit-tls" },
    { name: "legacy", port: 2525, mode: "relay-port" },
  ],
  tls: { secretRef: { name: "corp-tls" }, minVersion: "TLSv1.3" },
  auth: {
    mechanisms: ["SCRAM-SHA-256", "PLAIN", "OAUTHBEARER", "XOAUTH2", "EXTERNAL"],
    oauth: {
      issuer: "https://login.example.com",
      audience: "smtp",
      jwksSecretRef: { name: "corp-jwks" },
      usernameClaim: "preferred_username",
      tokenTypes: ["at+jwt", "JWT"],
      scopes: ["smtp.send", "openid"],
      maxTokenAge: "30m",
    },
    external: {
      clientCASecretRef: { name: "corp-client-ca", key: "bundle.pem" },
      identity: "subject-common-name",
    },
    bruteForce: { maxFailuresPerConnection: 2, maxFailures: 5, window: "10m", lockout: "1h30m" },
  },
  policy: {
    senderAlignment: "header",
    maxMessageSize: "35Mi",
    maxRecipients: 200,
    rateLimit: { messages: 500, window: "1h" },
  },
  relay: {
    host: "smtp.office365.com",
    port: 465,
    tls: { mode: "implicit-tls", caSecretRef: { name: "corp-root-ca" }, insecureSkipVerify: true },
    auth: { secretRef: { name: "corp-relay-login" }, mechanism: "XOAUTH2" },
    pool: { maxConnections: 10 },
    timeouts: { connect: "5s", socket: "2m" },
  },
  service: {
    type: "LoadBalancer",
    externalTrafficPolicy: "Local",
    annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
  },
  pod: {
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi", cpu: 1 } },
    nodeSelector: { "kubernetes.io/os": "linux" },
    tolerations: [{ key: "dedicated", operator: "Equal", value: "mail", effect: "NoSchedule" }],
    annotations: { "example.com/team": "mail" },
    priorityClassName: "mail-critical",
  },
  observability: {
    metricsPort: 9100,
    perUserMetrics: true,
    serviceMonitor: { enabled: true, interval: "90s", labels: { release: "prometheus" } },
    tracing: { otlpEndpoint: "http://otel-collector.observability:4318/v1/traces", samplingRatio: 0.25 },
  },
};

/** Every SubmissionGateway in examples/*.yaml, by file and name, placed in namespace `mail`. */
export function exampleGateways(): { name: string; gateway: SubmissionGateway }[] {
  const dir = join(import.meta.dirname, "../../examples");
  return readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), "utf8"))
        .map((doc) => doc.toJS())
        .filter((manifest) => manifest?.kind === "SubmissionGateway")
        .map((manifest) => {
          const parsed = parseSubmissionGateway({
            ...manifest,
            metadata: { ...manifest.metadata, namespace: "mail", uid: UID },
          });
          assert.ok(parsed.ok, parsed.ok ? "" : `${file}: ${parsed.error}`);
          return { name: `${file}: ${manifest.metadata.name}`, gateway: parsed.value };
        }),
    );
}

/** The error `render` throws, asserting it is a RenderError naming `field`. */
export function renderErrorOf(render: () => unknown, field: string): RenderError {
  try {
    render();
  } catch (error) {
    assert.ok(error instanceof RenderError, String(error));
    assert.equal(error.field, field, error.message);
    assert.ok(error.message.startsWith(`${field}: `), error.message);
    return error;
  }
  assert.fail(`expected a RenderError on ${field}`);
}

// A real gateway for tests: a configuration directory laid out like mounted Kubernetes volumes, a
// real smtp-sink upstream, the real TLS stack with a test PKI, and the gateway started in-process
// on free loopback ports. Tests talk to it with real clients (swaks, msmtp, gsasl, curl, Python).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import pino, { type Logger } from "pino";
import { stringify } from "yaml";
import { deriveVerifiers } from "../credentials/derive.ts";
import { type Gateway, startGateway } from "../gateway.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { type TestPki, testPki } from "./certificates.ts";
import { freePort } from "./ports.ts";
import { type SmtpSink, startSmtpSink } from "./smtp-sink.ts";
import { startTokenIssuer, type TokenIssuer } from "./token-issuer.ts";
import { writeVolume } from "./volume.ts";

export interface TestUser {
  username: string;
  password: string;
  senders?: string[];
  authorizeFor?: string[];
  disabled?: boolean;
  cramMd5?: boolean;
  /** The user's own send limits, replacing `policy.rateLimit`. */
  rateLimit?: { messages?: number; recipients?: number; windowSeconds?: number };
  /** Networks the user may log in from (none: any). */
  allowedCidrs?: string[];
}

export const ALICE: TestUser = {
  username: "alice@example.test",
  password: "alice-secret",
  senders: ["alice@example.test"],
};

/** `auth.bruteForce` for files that fail AUTH on purpose many times from one address and for one user,
 *  so later tests are not locked out; the lockouts themselves are brute-force.test.ts's subject. */
export const NO_LOCKOUTS = {
  failureDelaySeconds: 0,
  perAddress: { maxFailures: 10_000, windowSeconds: 1, lockoutSeconds: 1 },
  perUser: { maxFailures: 10_000, windowSeconds: 1, lockoutSeconds: 1 },
};

export interface TestGatewayOptions {
  users?: TestUser[];
  /** The files of the credentials volume, instead of a `users.yaml` of `users` (e.g. shards). */
  credentials?: Record<string, string>;
  /** Merged over the generated gateway.yaml (top-level keys replace; `auth` and `http` are merged
   *  one level). */
  config?: Record<string, unknown>;
  auth?: Record<string, unknown>;
  relayPort?: boolean;
  /** Start a token issuer (JWKS over HTTP on loopback) and point `auth.oauth` at it. */
  oauth?: boolean;
  /** Skip starting the gateway (to test start-up failures with the files in place). */
  noStart?: boolean;
  /** The gateway's logger (default: silent). */
  logger?: Logger;
  /** `proxyProtocol` of every listener. */
  proxyProtocol?: { trustedCidrs: string[] };
}

export interface TestGateway {
  dir: string;
  pki: TestPki;
  sink: SmtpSink;
  metrics: Metrics;
  /** Present when started with `oauth: true`. */
  oauth: TokenIssuer | undefined;
  gateway: Gateway | undefined;
  ports: { submission: number; submissions: number; relay: number; http: number };
  /** Replaces a mounted "volume" the way kubelet does: new timestamped dir, atomic ..data swap.
   *  `volume` is "credentials", "tls", or "" for the policy volume (the directory itself). */
  swapVolume(volume: string, files: Record<string, string>): Promise<void>;
  /** The gateway.yaml the harness wrote, for tests that change one field and swap it back in. */
  config: Record<string, unknown>;
  usersYaml(users: TestUser[]): Promise<string>;
}

/** A users file for `users`, verifiers derived as the CLI does. */
export async function usersYaml(users: TestUser[]): Promise<string> {
  const entries = await Promise.all(
    users.map(async (u) => ({
      username: u.username,
      senders: u.senders ?? [u.username],
      authorizeFor: u.authorizeFor ?? [],
      disabled: u.disabled ?? false,
      ...(u.allowedCidrs ? { allowedCidrs: u.allowedCidrs } : {}),
      ...(u.rateLimit ? { rateLimit: u.rateLimit } : {}),
      verifiers: await deriveVerifiers(u.password, { cramMd5: u.cramMd5 ?? false }),
    })),
  );
  return stringify({ users: entries });
}

export async function startTestGateway(
  t: TestContext,
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const pki = await testPki();
  const dir = await mkdtemp(join(tmpdir(), "postern-gw-"));
  const sink = await startSmtpSink();
  const oauth = options.oauth ? await startTokenIssuer() : undefined;
  const ports = {
    submission: await freePort(),
    submissions: await freePort(),
    relay: await freePort(),
    http: await freePort(),
  };
  await writeVolume(join(dir, "tls"), {
    "tls.crt": await readText(pki.serverCert),
    "tls.key": await readText(pki.serverKey),
    "ca.crt": await readText(pki.caCert),
  });
  await writeVolume(
    join(dir, "credentials"),
    options.credentials ?? { "users.yaml": await usersYaml(options.users ?? [ALICE]) },
  );
  const proxy = options.proxyProtocol ? { proxyProtocol: options.proxyProtocol } : {};
  const listeners = [
    { name: "submission", address: "127.0.0.1", port: ports.submission, mode: "starttls", ...proxy },
    { name: "submissions", address: "127.0.0.1", port: ports.submissions, mode: "implicit-tls", ...proxy },
    ...(options.relayPort
      ? [{ name: "relay", address: "127.0.0.1", port: ports.relay, mode: "relay-port", ...proxy }]
      : []),
  ];
  const config = {
    hostname: "gateway.test",
    listeners,
    tls: { certFile: "tls/tls.crt", keyFile: "tls/tls.key", clientCaFile: "tls/ca.crt" },
    auth: {
      mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN"],
      credentialsFile: "credentials/users.yaml",
      bruteForce: { failureDelaySeconds: 0 },
      ...(oauth ? { oauth: oauth.config } : {}),
      ...options.auth,
    },
    upstream: { host: "127.0.0.1", port: sink.port, tls: "none" },
    ...options.config,
    // Merged, not replaced: tests opt into HTTP features but the harness owns the port.
    http: { ...(options.config?.http as object | undefined), address: "127.0.0.1", port: ports.http },
  };
  // The directory itself is the policy "ConfigMap" volume; tls/ and credentials/ are nested ones.
  await writeVolume(dir, { "gateway.yaml": stringify(config) });
  const metrics = createMetrics({ defaultMetrics: false });
  const handle: TestGateway = {
    dir,
    pki,
    sink,
    metrics,
    oauth,
    gateway: undefined,
    ports,
    swapVolume: (volume, files) => writeVolume(join(dir, volume), files),
    config,
    usersYaml,
  };
  t.after(async () => {
    await handle.gateway?.close();
    await sink.stop();
    await oauth?.close();
    await rm(dir, { recursive: true, force: true });
  });
  if (!options.noStart) {
    handle.gateway = await startGateway(dir, {
      logger: options.logger ?? pino({ level: "silent" }),
      metrics,
      reloadDebounceMs: 20,
    });
  }
  return handle;
}

/** A test gateway whose log goes line by line to `file` in a temporary `dir`, as log filters read it. */
export async function startLoggedGateway(t: TestContext, options: TestGatewayOptions = {}) {
  const dir = await mkdtemp(join(tmpdir(), "postern-log-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "gateway.log");
  const logger = pino({ name: "postern-gateway" }, pino.destination({ dest: file, sync: true }));
  const gw = await startTestGateway(t, { ...options, logger });
  /** The lines logged so far, each with its JSON. */
  const lines = async () =>
    (await readFile(file, "utf8"))
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => ({ line, json: JSON.parse(line) as Record<string, unknown> }));
  return { gw, dir, file, lines };
}

const readText = (path: string) => readFile(path, "utf8");

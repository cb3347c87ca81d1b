// The shipped examples/standalone directory (what `make run` starts) works as documented: copied as
// is, with only its ports moved to free ones and its upstream to a test sink, it starts, makes its
// self-signed TLS pair on first start, and lets alice@example.test / alice-secret submit mail.
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { lstat, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import pino from "pino";
import { parse, stringify } from "yaml";
import { type Gateway, startGateway } from "./gateway.ts";
import { createMetrics } from "./observability/metrics.ts";
import { freePort } from "./testing/ports.ts";
import { RawSmtp } from "./testing/raw-smtp.ts";
import { assertDeliveredOnce, run, testMessage } from "./testing/run.ts";
import { startSmtpSink } from "./testing/smtp-sink.ts";

const EXAMPLE = resolve(import.meta.dirname, "../examples/standalone");
const ALICE = { username: "alice@example.test", password: "alice-secret" };

interface ExampleConfig {
  hostname: string;
  listeners: { name: string; port: number }[];
  upstream: { host: string; port: number };
  http: { port: number };
}

test("examples/standalone starts, generates its TLS pair and relays alice's mail", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "postern-standalone-"));
  const sink = await startSmtpSink();
  let gateway: Gateway | undefined;
  t.after(async () => {
    await gateway?.close();
    await sink.stop();
    await rm(root, { recursive: true, force: true });
  });
  const dir = join(root, "standalone");
  // cp -a keeps the credentials volume's ..data symlinks as they are.
  const copied = await run("cp", ["-a", EXAMPLE, dir]);
  assert.equal(copied.code, 0, copied.stderr);
  assert.ok((await lstat(join(dir, "credentials/users.yaml"))).isSymbolicLink());
  // A pair left behind by `make run` (git ignores it) would hide the generation under test.
  await rm(join(dir, "tls"), { recursive: true, force: true });

  const file = join(dir, "gateway.yaml");
  const config = parse(await readFile(file, "utf8")) as ExampleConfig;
  assert.deepEqual(
    config.listeners.map((l) => l.name),
    ["submission", "submissions"],
  );
  assert.equal(config.upstream.host, "127.0.0.1");
  for (const listener of config.listeners) listener.port = await freePort();
  config.http.port = await freePort();
  config.upstream.port = sink.port;
  await writeFile(file, stringify(config));
  const [submission, submissions] = config.listeners.map((l) => l.port);
  assert.ok(submission !== undefined && submissions !== undefined);

  gateway = await startGateway(dir, {
    logger: pino({ level: "silent" }),
    metrics: createMetrics({ defaultMetrics: false }),
  });

  await t.test("the self-signed pair was generated on first start, the key private", async () => {
    const cert = new X509Certificate(await readFile(join(dir, "tls/tls.crt")));
    const key = createPrivateKey(await readFile(join(dir, "tls/tls.key")));
    assert.ok(cert.checkPrivateKey(key));
    assert.equal(cert.subject, `CN=${config.hostname}`);
    assert.ok(cert.checkIP("127.0.0.1"), cert.subjectAltName);
    assert.equal((await stat(join(dir, "tls/tls.key"))).mode & 0o077, 0, "tls.key is owner-only");
  });

  await t.test(
    "swaks as `make run` suggests: PLAIN over STARTTLS, verifying the generated certificate",
    async () => {
      const message = testMessage(ALICE.username, "bob@example.net");
      const swaks = await run(
        "swaks",
        [
          ...["--server", `127.0.0.1:${submission}`, "--tls", "--tls-verify"],
          ...["--tls-ca-path", join(dir, "tls/tls.crt")],
          ...["--auth", "PLAIN", "--auth-user", ALICE.username, "--auth-password", ALICE.password],
          ...["--from", message.from, "--to", message.to, "--data", "-", "--timeout", "10"],
        ],
        { input: message.text },
      );
      assert.equal(swaks.code, 0, swaks.stdout + swaks.stderr);
      await assertDeliveredOnce(sink, message.token, { by: config.hostname });
    },
  );

  await t.test("SCRAM-SHA-256 over implicit TLS with the example's SCRAM verifier", async () => {
    const c = await RawSmtp.authenticated(submissions, ALICE, {
      tls: "implicit",
      mechanism: "SCRAM-SHA-256",
    });
    c.close();
  });
});

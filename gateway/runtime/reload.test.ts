// Hot reload against a running gateway: files are swapped the way kubelet swaps a mounted volume
// (new timestamped directory, atomic rename of ..data) and the change must be in force within 1 s,
// without restarting and without dropping connections.
import assert from "node:assert/strict";
import type { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { connect } from "node:tls";
import { stringify } from "yaml";
import { selfSigned } from "../testing/certificates.ts";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

async function authReply(gw: TestGateway, user: string, pass: string): Promise<string> {
  const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });
  const reply = await c.command(`AUTH PLAIN ${authPlain(user, pass)}`);
  c.close();
  return reply.last;
}

/** Polls until `check` is true; fails after `ms`. Returns the time it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) assert.fail(`not in force within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - start;
}

const metric = async (gw: TestGateway, name: string) =>
  (await gw.metrics.registry.getSingleMetricAsString(name)).split("\n").filter((l) => !l.startsWith("#"));

/** postern_config_last_reload_successful, by kind. */
const lastReloadSuccessful = async (gw: TestGateway) =>
  Object.fromEntries(
    (await gw.metrics.configLastReloadSuccessful.get()).values.map((v) => [v.labels.kind, v.value]),
  );

test("a rotated password is in force within 1 s; the old one is refused; open sessions stay up", async (t) => {
  const gw = await startTestGateway(t);
  const open = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });

  const rotated = { ...ALICE, password: "alice-rotated" };
  await gw.swapVolume("credentials", { "users.yaml": await gw.usersYaml([rotated]) });
  await within(1000, async () => (await authReply(gw, ALICE.username, rotated.password)).startsWith("235"));
  assert.match(await authReply(gw, ALICE.username, ALICE.password), /^535 5\.7\.8/);

  // The connection opened before the swap is still there and authenticates with the new password.
  assert.match(
    (await open.command(`AUTH PLAIN ${authPlain(ALICE.username, rotated.password)}`)).last,
    /^235/,
  );
  open.close();
  assert.ok(
    (await metric(gw, "postern_config_reloads_total")).some((l) =>
      /kind="credentials",result="success"} 1/.test(l),
    ),
  );
});

test("credential rotation under load: no failed AUTH for the new password once swapped", async (t) => {
  const gw = await startTestGateway(t);
  const rotated = { ...ALICE, password: "alice-under-load" };
  await gw.swapVolume("credentials", {
    "users.yaml": await gw.usersYaml([ALICE, { ...rotated, username: "bob@example.test" }]),
  });
  await within(1000, async () =>
    (await authReply(gw, "bob@example.test", rotated.password)).startsWith("235"),
  );
  // Swap alice's password while clients hammer AUTH; once a client saw the new password work,
  // every attempt begun after that must succeed (one begun before may still be checked against the
  // old hash, and its padded 535 can arrive after another client's 235).
  const swapped = gw.swapVolume("credentials", {
    "users.yaml": await gw.usersYaml([rotated, { ...rotated, username: "bob@example.test" }]),
  });
  let seenNew = false;
  const failuresAfterSwap: string[] = [];
  const worker = async () => {
    for (let i = 0; i < 15; i++) {
      const begunAfterSwap = seenNew;
      const reply = await authReply(gw, ALICE.username, rotated.password);
      if (reply.startsWith("235")) seenNew = true;
      else if (begunAfterSwap) failuresAfterSwap.push(reply);
    }
  };
  await Promise.all([swapped, worker(), worker(), worker()]);
  assert.ok(seenNew, "the new password never worked");
  assert.deepEqual(failuresAfterSwap, []);
  assert.match(await authReply(gw, ALICE.username, ALICE.password), /^535/);
});

test("an invalid credentials file is refused; the last good one stays in force", async (t) => {
  const gw = await startTestGateway(t);
  await gw.swapVolume("credentials", { "users.yaml": "users:\n  - username: x\n    verifiers: {}\n" });
  await within(1000, async () =>
    (await metric(gw, "postern_config_reloads_total")).some((l) =>
      /kind="credentials",result="failure"} 1/.test(l),
    ),
  );
  assert.match(await authReply(gw, ALICE.username, ALICE.password), /^235/);
});

test("last_reload_successful: 1 from the start, 0 while a kind's newest content is refused, 1 once a good one loads", async (t) => {
  const gw = await startTestGateway(t);
  assert.deepEqual(await lastReloadSuccessful(gw), { policy: 1, credentials: 1, tls: 1 });

  await gw.swapVolume("credentials", { "users.yaml": "users:\n  - username: x\n    verifiers: {}\n" });
  await within(1000, async () => (await lastReloadSuccessful(gw)).credentials === 0);
  // The refused content is not tried again, and a good load of another kind does not clear it: the
  // gauge stays 0 as long as the refused file does, long after its one failure increment.
  await gw.swapVolume("", { "gateway.yaml": stringify({ ...gw.config, limits: { maxRecipients: 1 } }) });
  await within(1000, async () => gw.gateway?.config.limits.maxRecipients === 1);
  await gw.gateway?.reload();
  assert.deepEqual(await lastReloadSuccessful(gw), { policy: 1, credentials: 0, tls: 1 });

  await gw.swapVolume("credentials", { "users.yaml": await gw.usersYaml([ALICE]) });
  await within(1000, async () => (await lastReloadSuccessful(gw)).credentials === 1);
  assert.match(await authReply(gw, ALICE.username, ALICE.password), /^235/);
});

test("an invalid policy is refused and the old policy stays; a valid change applies", async (t) => {
  const gw = await startTestGateway(t);
  await gw.swapVolume("", { "gateway.yaml": stringify({ ...gw.config, listeners: [] }) });
  await within(1000, async () =>
    (await metric(gw, "postern_config_reloads_total")).some((l) =>
      /kind="policy",result="failure"} 1/.test(l),
    ),
  );
  assert.equal((await lastReloadSuccessful(gw)).policy, 0);
  assert.match(await authReply(gw, ALICE.username, ALICE.password), /^235/);

  await gw.swapVolume("", { "gateway.yaml": stringify({ ...gw.config, limits: { maxRecipients: 1 } }) });
  await within(1000, async () => gw.gateway?.config.limits.maxRecipients === 1);
  assert.equal((await lastReloadSuccessful(gw)).policy, 1);
  const c = await RawSmtp.authenticated(gw.ports.submissions, ALICE);
  await c.command("MAIL FROM:<alice@example.test>");
  assert.equal((await c.command("RCPT TO:<a@example.net>")).code, 250);
  assert.equal((await c.command("RCPT TO:<b@example.net>")).last, "452 4.5.3 Too many recipients");
  c.close();
});

async function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert) resolve(cert);
      else reject(new Error("no certificate"));
    });
    socket.once("error", reject);
  });
}

test("a swapped TLS certificate is served to new clients without a restart", async (t) => {
  const gw = await startTestGateway(t);
  const before = await servedCertificate(gw.ports.submissions);
  const { cert, key } = await selfSigned(gw.dir, "rotated.gateway.test");
  await gw.swapVolume("tls", {
    "tls.crt": await readFile(cert, "utf8"),
    "tls.key": await readFile(key, "utf8"),
    "ca.crt": await readFile(gw.pki.caCert, "utf8"),
  });
  await within(1000, async () => (await servedCertificate(gw.ports.submissions)).subject.includes("rotated"));
  assert.notEqual(before.fingerprint256, (await servedCertificate(gw.ports.submissions)).fingerprint256);
  // STARTTLS on the submission port picks up the new certificate too.
  const c = await RawSmtp.connect(gw.ports.submission);
  await c.read();
  await c.command("EHLO client.test");
  await c.startTls();
  assert.equal((await c.command("EHLO client.test")).code, 250);
  c.close();
});

test("a TLS key that does not match its certificate is refused; the old pair stays", async (t) => {
  const gw = await startTestGateway(t);
  const before = await servedCertificate(gw.ports.submissions);
  await gw.swapVolume("tls", {
    "tls.crt": await readFile(gw.pki.serverCert, "utf8"),
    "tls.key": await readFile(gw.pki.clientKey, "utf8"),
    "ca.crt": await readFile(gw.pki.caCert, "utf8"),
  });
  await within(1000, async () =>
    (await metric(gw, "postern_config_reloads_total")).some((l) => /kind="tls",result="failure"} 1/.test(l)),
  );
  assert.deepEqual(await lastReloadSuccessful(gw), { policy: 1, credentials: 1, tls: 0 });
  assert.equal((await servedCertificate(gw.ports.submissions)).fingerprint256, before.fingerprint256);
});

test("policy reload reaches the SMTP layer: a new size limit is advertised and enforced", async (t) => {
  const gw = await startTestGateway(t);
  await gw.swapVolume("", { "gateway.yaml": stringify({ ...gw.config, limits: { maxMessageBytes: 2048 } }) });
  await within(1000, async () => gw.gateway?.config.limits.maxMessageBytes === 2048);
  const c = await RawSmtp.connect(gw.ports.submissions, { tls: {} });
  await c.read();
  assert.ok((await c.command("EHLO client.test")).lines.includes("SIZE 2048"));
  await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`);
  assert.match((await c.command(`MAIL FROM:<${ALICE.username}> SIZE=5000`)).last, /^552 5\.3\.4 /);
  c.close();
});

test("a closed gateway reloads nothing, asked or watching", async (t) => {
  const gw = await startTestGateway(t);
  const gateway = gw.gateway;
  assert.ok(gateway);
  await gateway.close();
  await gw.swapVolume("credentials", {
    "users.yaml": await gw.usersYaml([{ ...ALICE, password: "after-close" }]),
  });
  await gw.swapVolume("", { "gateway.yaml": stringify({ ...gw.config, hostname: "after-close.test" }) });
  await gateway.reload();
  await new Promise((resolve) => setTimeout(resolve, 500)); // the watcher's debounce, had it stayed
  assert.equal(gateway.config.hostname, "gateway.test");
  const reloads = await metric(gw, "postern_config_reloads_total");
  assert.ok(reloads.length > 0 && reloads.every((l) => l.endsWith(" 0")), `no reload counted: ${reloads}`);
});

// Every setting documented to reload does reload — the brute-force policy, tls.minVersion, the JWKS
// file, removing the client CA — and one that cannot (listeners, the HTTP port) is refused as a failed
// reload, never reported as a success.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { connect } from "node:tls";
import pino from "pino";
import { stringify } from "yaml";
import { startGateway } from "../gateway.ts";
import { authPlain, base64, RawSmtp } from "../testing/raw-smtp.ts";
import { run } from "../testing/run.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

const reloads = async (gw: TestGateway, kind: string, result: string) => {
  const metric = await gw.metrics.configReloads.get();
  return metric.values.find((v) => v.labels.kind === kind && v.labels.result === result)?.value ?? 0;
};

async function swapPolicy(gw: TestGateway, patch: Record<string, unknown>) {
  await gw.swapVolume("", { "gateway.yaml": stringify({ ...gw.config, ...patch }) });
  await gw.gateway?.reload();
}

async function timedLogin(gw: TestGateway, password: string, from: string) {
  const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit", localAddress: from });
  const started = performance.now();
  const { last } = await c.command(`AUTH PLAIN ${authPlain(ALICE.username, password)}`);
  c.close();
  return { last, ms: performance.now() - started };
}

test("a new brute-force policy applies on reload, keeping the failures already counted", async (t) => {
  const lenient = {
    failureDelaySeconds: 0,
    perUser: { maxFailures: 100, windowSeconds: 300, lockoutSeconds: 900 },
  };
  const gw = await startTestGateway(t, { auth: { bruteForce: lenient } });
  assert.match((await timedLogin(gw, "guess", "127.0.0.2")).last, /^535/);
  await swapPolicy(gw, {
    auth: {
      ...(gw.config.auth as object),
      bruteForce: { ...lenient, maxDelaySeconds: 1, perUser: { ...lenient.perUser, maxFailures: 2 } },
    },
  });
  assert.equal(await reloads(gw, "policy", "success"), 1);
  assert.match((await timedLogin(gw, "guess", "127.0.0.3")).last, /^535/);
  const slowed = await timedLogin(gw, ALICE.password, "127.0.0.4");
  assert.match(slowed.last, /^235/);
  assert.ok(slowed.ms >= 950, `the stricter policy slows alice's attempts now: ${slowed.ms.toFixed(0)} ms`);
});

/** Whether a TLS 1.2-only client completes a handshake with the implicit-TLS listener. */
function tls12Handshake(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(
      { host: "127.0.0.1", port, rejectUnauthorized: false, maxVersion: "TLSv1.2" },
      () => {
        socket.destroy();
        resolve(true);
      },
    );
    socket.once("error", () => resolve(false));
  });
}

test("tls.minVersion applies on reload of gateway.yaml alone", async (t) => {
  const gw = await startTestGateway(t);
  assert.equal(await tls12Handshake(gw.ports.submissions), true);
  await swapPolicy(gw, { tls: { ...(gw.config.tls as object), minVersion: "TLSv1.3" } });
  assert.equal(await tls12Handshake(gw.ports.submissions), false);
  assert.equal(await reloads(gw, "tls", "success"), 1);
});

test("removing the client CA stops the gateway asking for client certificates", async (t) => {
  const gw = await startTestGateway(t);
  // openssl s_client lists the CA names a server sends with its certificate request.
  const asked = async () =>
    (
      await run("openssl", ["s_client", "-connect", `127.0.0.1:${gw.ports.submissions}`], { input: "QUIT\n" })
    ).stdout.includes("Acceptable client certificate CA names");
  assert.equal(await asked(), true);
  const { clientCaFile: _, ...withoutCa } = gw.config.tls as Record<string, unknown>;
  await swapPolicy(gw, { tls: withoutCa });
  assert.equal(await asked(), false);
});

test("the JWKS file reloads when it changes", async (t) => {
  const gw = await startTestGateway(t, { oauth: true, noStart: true });
  const issuer = gw.oauth;
  assert.ok(issuer);
  const jwks = await (await fetch(issuer.config.jwksUrl)).text();
  const jwksFile = join(gw.dir, "jwks.json");
  await writeFile(jwksFile, JSON.stringify({ keys: [] }));
  const { jwksUrl: _, ...oauth } = issuer.config;
  const auth = {
    ...(gw.config.auth as object),
    mechanisms: ["OAUTHBEARER"],
    oauth: { ...oauth, jwksFile: "jwks.json" },
  };
  await gw.swapVolume("", { "gateway.yaml": stringify({ ...gw.config, auth }) });
  gw.gateway = await startGateway(gw.dir, { logger: pino({ level: "silent" }), metrics: gw.metrics });
  const bearer = async () => {
    const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });
    const token = await issuer.token(ALICE.username);
    const reply = await c.command(`AUTH OAUTHBEARER ${base64(`n,,\x01auth=Bearer ${token}\x01\x01`)}`);
    const last = reply.code === 334 ? (await c.command("AQ==")).last : reply.last;
    c.close();
    return last;
  };
  assert.match(await bearer(), /^535/, "no key in the file yet");
  await writeFile(jwksFile, jwks);
  await gw.gateway.reload();
  assert.match(await bearer(), /^235/);
});

test("a change that needs a restart is a failed reload: logged and counted, nothing applied", async (t) => {
  const gw = await startTestGateway(t);
  const listeners = (gw.config.listeners as { port: number }[]).map((l) => ({ ...l, port: l.port + 1 }));
  await swapPolicy(gw, { listeners, limits: { maxRecipients: 1 } });
  assert.equal(await reloads(gw, "policy", "failure"), 1);
  assert.equal(await reloads(gw, "policy", "success"), 0);
  const successful = await gw.metrics.configLastReloadSuccessful.get();
  assert.equal(
    successful.values.find((v) => v.labels.kind === "policy")?.value,
    0,
    "refused until restarted",
  );
  assert.equal(gw.gateway?.config.limits.maxRecipients, 100, "the last good policy stays in force");
});

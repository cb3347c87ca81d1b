// A penalty anyone can trigger is never a lockout: the real user's right password logs in (after a wait
// that comes before anything is checked, so it tells nothing), and never counts against its address.
import assert from "node:assert/strict";
import { test } from "node:test";
import { scramClient } from "../sasl/testing/scram-client.ts";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

const plain = (pass: string) => authPlain(ALICE.username, pass);
const connect = (gw: TestGateway, localAddress = "127.0.0.1") =>
  RawSmtp.session(gw.ports.submissions, { tls: "implicit", localAddress });

/** Runs a SCRAM exchange; returns every reply the server sent after the client-final message. */
async function scram(c: RawSmtp, password: string): Promise<string[]> {
  const client = scramClient(ALICE.username, password);
  const first = await c.command(`AUTH SCRAM-SHA-256 ${client.first.toString("base64")}`);
  assert.equal(first.code, 334, first.last);
  const { message } = client.final(Buffer.from(first.last.slice(4), "base64"));
  const replies = [(await c.command(message.toString("base64"))).last];
  if (replies[0]?.startsWith("334")) replies.push((await c.command("")).last);
  return replies;
}

const lockout = {
  failureDelaySeconds: 0,
  maxFailuresPerConnection: 3,
  maxDelaySeconds: 1,
  perAddress: { maxFailures: 1, windowSeconds: 60, lockoutSeconds: 60 },
  perUser: { maxFailures: 2, windowSeconds: 60, lockoutSeconds: 60 },
};

/** The scopes that started lockouts (every scope is exposed from 0). */
async function lockouts(gw: TestGateway): Promise<Record<string, number>> {
  const metric = await gw.metrics.registry.getSingleMetric("postern_auth_lockouts_total")?.get();
  return Object.fromEntries(
    (metric?.values ?? []).filter((v) => v.value > 0).map((v) => [String(v.labels.scope), v.value]),
  );
}

test("a penalized user's right password logs in, and never counts as a failure against its address", async (t) => {
  const gw = await startTestGateway(t, { auth: { bruteForce: lockout } });
  const attacker = await connect(gw, "127.0.0.2");
  for (let i = 0; i < 2; i++)
    assert.match((await attacker.command(`AUTH PLAIN ${plain("guess")}`)).last, /^535/);
  attacker.close();
  assert.deepEqual(await lockouts(gw), { user: 1, address: 1 });
  // One failure would penalize this address (perAddress.maxFailures 1); three right logins are none.
  for (let i = 0; i < 3; i++) {
    const c = await connect(gw, "127.0.0.3");
    assert.equal((await c.command(`AUTH PLAIN ${plain(ALICE.password)}`)).code, 235);
    c.close();
  }
  assert.deepEqual(await lockouts(gw), { user: 1, address: 1 }, "no penalty for 127.0.0.3");
});

test("while a user is penalized, SCRAM waits before its first challenge, then runs as ever", async (t) => {
  const gw = await startTestGateway(t, { auth: { bruteForce: lockout } });
  const attacker = await connect(gw, "127.0.0.2");
  for (let i = 0; i < 2; i++) await attacker.command(`AUTH PLAIN ${plain("guess")}`);
  attacker.close();
  const c = await connect(gw, "127.0.0.4");
  const started = performance.now();
  const right = await scram(c, ALICE.password);
  assert.ok(performance.now() - started >= 950, "the wait comes before the salt, whatever the proof");
  assert.equal(right.at(-1), "235 2.7.0 Authentication successful");
  c.close();
  const d = await connect(gw, "127.0.0.4");
  assert.deepEqual(await scram(d, "wrong"), ["535 5.7.8 Authentication credentials invalid"]);
  d.close();
});

test("right SCRAM credentials from outside the user's networks never see the server signature", async (t) => {
  const gw = await startTestGateway(t, { auth: { bruteForce: lockout } });
  const yaml = await gw.usersYaml([{ ...ALICE, allowedCidrs: ["10.0.0.0/8"] }]);
  await gw.swapVolume("credentials", { "users.yaml": yaml });
  await gw.gateway?.reload();
  const c = await connect(gw);
  const right = await scram(c, ALICE.password);
  const wrong = await scram(c, "wrong");
  assert.deepEqual(right, ["535 5.7.8 Authentication credentials invalid"]);
  assert.deepEqual(wrong, right);
  c.close();
});

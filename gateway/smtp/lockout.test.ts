// A locked-out user is no password oracle and no way around the other limits, and a lockout that
// anyone can trigger does not lock the real user out of the places they log in from.
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
  perAddress: { maxFailures: 6, windowSeconds: 60, lockoutSeconds: 60 },
  perUser: { maxFailures: 2, windowSeconds: 60, lockoutSeconds: 60 },
};

test("while a user is locked out, SCRAM never reveals a right password and guesses still count", async (t) => {
  const gw = await startTestGateway(t, { auth: { bruteForce: lockout } });
  const attacker = await connect(gw, "127.0.0.2");
  for (let i = 0; i < 2; i++)
    assert.match((await attacker.command(`AUTH PLAIN ${plain("guess")}`)).last, /^535/);
  attacker.close();

  // Locked: the right password gets exactly what a wrong one gets — no 334 v=ServerSignature.
  const c = await connect(gw, "127.0.0.2");
  assert.deepEqual(await scram(c, ALICE.password), [
    "454 4.7.0 Too many recent authentication failures, try again later",
  ]);
  assert.deepEqual(await scram(c, "wrong"), [
    "454 4.7.0 Too many recent authentication failures, try again later",
  ]);
  // The third refused guess on this connection hits the per-connection limit, lock or not.
  assert.equal(
    (await c.command(`AUTH PLAIN ${plain("guess")}`)).last,
    "421 4.7.0 Too many authentication failures, closing connection",
  );
  await c.waitClosed();
  // And they counted towards the address window: 2 + 3 = 5 of 6, one more locks the address.
  const d = await connect(gw, "127.0.0.2");
  assert.match((await d.command(`AUTH PLAIN ${plain("guess")}`)).last, /^454/);
  assert.equal(
    (await d.command(`AUTH PLAIN ${plain("guess")}`)).last,
    "454 4.7.0 Too many recent authentication failures, try again later",
  );
  d.close();
});

test("a user locked out by someone else still logs in from where they logged in before", async (t) => {
  const gw = await startTestGateway(t, { auth: { bruteForce: lockout } });
  const home = await connect(gw, "127.0.0.1");
  assert.equal((await home.command(`AUTH PLAIN ${plain(ALICE.password)}`)).code, 235);
  home.close();
  const attacker = await connect(gw, "127.0.0.3");
  for (let i = 0; i < 2; i++) await attacker.command(`AUTH PLAIN ${plain("guess")}`);
  attacker.close();
  const retry = await connect(gw, "127.0.0.3");
  const reply = await retry.command(`AUTH PLAIN ${plain(ALICE.password)}`);
  assert.match(reply.last, /^454/, "locked for the attacker");
  retry.close();
  const again = await connect(gw, "127.0.0.1");
  assert.equal((await again.command(`AUTH PLAIN ${plain(ALICE.password)}`)).code, 235, "not locked at home");
  again.close();
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

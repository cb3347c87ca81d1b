// A brute-force penalty is no weapon across replicas and restarts either. Two gateway processes (as two
// replicas, each with its own memory) and a restart of one of them: an attacker guessing a user's
// password at both never keeps that user from logging in. Where a replica has seen the user log in from
// an address, the user is not even slowed there; where it has not (the other replica, or after a
// restart), the user is slowed for a moment, never refused.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitForPort } from "../testing/ports.ts";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

const CLI = fileURLToPath(new URL("../cli/postern-gateway.ts", import.meta.url));
const HOME = "127.0.0.1";
const ATTACKER = "127.0.0.66";
const MAX_DELAY_SECONDS = 2;

const bruteForce = {
  failureDelaySeconds: 0,
  maxDelaySeconds: MAX_DELAY_SECONDS,
  maxFailuresPerConnection: 3,
  perUser: { maxFailures: 3, windowSeconds: 300, lockoutSeconds: 900 },
};

/** A gateway process started from `gw`'s directory, as a replica runs it. */
async function replica(gw: TestGateway): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, "--config", gw.dir], { stdio: "ignore" });
  await waitForPort(gw.ports.submissions);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

/** One AUTH PLAIN on a fresh connection: the reply, and how long it took. */
async function login(gw: TestGateway, password: string, from: string) {
  const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit", localAddress: from });
  const started = performance.now();
  const { last } = await c.command(`AUTH PLAIN ${authPlain(ALICE.username, password)}`);
  c.close();
  return { last, ms: performance.now() - started };
}

async function attack(gw: TestGateway, tries: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < tries; i++) {
    const { last, ms } = await login(gw, `guess-${i}`, ATTACKER);
    assert.match(last, /^535 5\.7\.8 /);
    times.push(ms);
  }
  return times;
}

const SUCCEEDED = "235 2.7.0 Authentication successful";
const slack = 1500; // a shared 2-core machine: TLS set-up and scheduling, beside the delay itself

test("two replicas and a restart: guessing a user's password never locks the user out", async (t) => {
  const a = await startTestGateway(t, { auth: { bruteForce }, noStart: true });
  const b = await startTestGateway(t, { auth: { bruteForce }, noStart: true });
  const processes = { a: await replica(a), b: await replica(b) };
  t.after(async () => {
    await Promise.all([stop(processes.a), stop(processes.b)]);
  });

  await t.test("alice logs in at replica A from home", async () => {
    assert.equal((await login(a, ALICE.password, HOME)).last, SUCCEEDED);
  });

  await t.test("an attacker guessing alice's password at both replicas is slowed down", async () => {
    for (const gw of [a, b]) {
      const times = await attack(gw, 4);
      assert.ok((times.at(-1) ?? 0) >= 950, `the attacker's last guess waited: ${times.map(Math.round)}`);
    }
  });

  await t.test("alice at A, where she logged in before: 235 at once", async () => {
    const { last, ms } = await login(a, ALICE.password, HOME);
    assert.equal(last, SUCCEEDED);
    assert.ok(ms < 900, `${ms.toFixed(0)} ms`);
  });

  await t.test("alice at B, which never saw her: 235 after a bounded wait, never 454", async () => {
    const { last, ms } = await login(b, ALICE.password, HOME);
    assert.equal(last, SUCCEEDED);
    assert.ok(ms < MAX_DELAY_SECONDS * 1000 + slack, `${ms.toFixed(0)} ms`);
  });

  await t.test("A restarts (forgetting everything) and the attack resumes: alice still logs in", async () => {
    await stop(processes.a);
    processes.a = await replica(a);
    await attack(a, 4);
    const first = await login(a, ALICE.password, HOME);
    assert.equal(first.last, SUCCEEDED);
    assert.ok(first.ms < MAX_DELAY_SECONDS * 1000 + slack, `${first.ms.toFixed(0)} ms`);
    const again = await login(a, ALICE.password, HOME);
    assert.equal(again.last, SUCCEEDED);
    assert.ok(again.ms < 900, `known again after one login: ${again.ms.toFixed(0)} ms`);
  });
});

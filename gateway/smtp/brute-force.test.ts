// AUTH brute force within one connection and across connections, per user and per client address,
// against a running gateway. Each scope gets its own gateway and limits, so that exactly the scope
// under test trips; the lockouts are counted in postern_auth_lockouts_total{scope}. Last, the delay
// every failed AUTH is answered after.
import assert from "node:assert/strict";
import { test } from "node:test";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import {
  ALICE,
  NO_LOCKOUTS,
  startTestGateway,
  type TestGateway,
  type TestUser,
} from "../testing/test-gateway.ts";

const BOB: TestUser = { username: "bob@example.test", password: "bob-secret" };
const plain = (user: string, password: string) => `AUTH PLAIN ${authPlain(user, password)}`;

const SUCCEEDED = "235 2.7.0 Authentication successful";
const INVALID = "535 5.7.8 Authentication credentials invalid";
const LOCKED = "454 4.7.0 Too many recent authentication failures, try again later";
const WINDOW = { windowSeconds: 300, lockoutSeconds: 900 };
const NEVER = { maxFailures: 1000, ...WINDOW };

const session = (gw: TestGateway, localAddress?: string) =>
  RawSmtp.session(gw.ports.submissions, { tls: "implicit", localAddress });

/** One AUTH PLAIN on a fresh connection; returns the reply line. */
async function attempt(gw: TestGateway, user: string, password: string, localAddress?: string) {
  const c = await session(gw, localAddress);
  const { last } = await c.command(plain(user, password));
  c.close();
  return last;
}

async function lockouts(gw: TestGateway): Promise<Record<string, number>> {
  const metric = await gw.metrics.registry.getSingleMetric("postern_auth_lockouts_total")?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.scope), v.value]));
}

test("per connection: the third failure is answered 421 4.7.0 and the connection closes", async (t) => {
  const gw = await startTestGateway(t, {
    users: [ALICE],
    auth: { bruteForce: { failureDelaySeconds: 0, perAddress: NEVER, perUser: NEVER } },
  });
  const c = await session(gw);
  assert.equal((await c.command(plain(ALICE.username, "guess-1"))).last, INVALID);
  assert.equal((await c.command(plain("nobody@example.test", "guess-2"))).last, INVALID);
  assert.equal(
    (await c.command(plain(ALICE.username, "guess-3"))).last,
    "421 4.7.0 Too many authentication failures, closing connection",
  );
  await c.waitClosed();
  assert.deepEqual(await lockouts(gw), { connection: 1 });
  // Only that connection: a new one authenticates.
  assert.equal(await attempt(gw, ALICE.username, ALICE.password), SUCCEEDED);
});

test("per user, across connections: a locked user is refused even the right password", async (t) => {
  const gw = await startTestGateway(t, {
    users: [ALICE, BOB],
    auth: {
      bruteForce: { failureDelaySeconds: 0, perAddress: NEVER, perUser: { maxFailures: 3, ...WINDOW } },
    },
  });

  await t.test("the failures that reach the limit are still answered 535", async () => {
    for (const guess of ["guess-1", "guess-2", "guess-3"]) {
      assert.equal(await attempt(gw, BOB.username, guess), INVALID);
    }
    assert.deepEqual(await lockouts(gw), { user: 1 });
  });

  await t.test("then the right password and a wrong one get the same 454 4.7.0", async () => {
    assert.equal(await attempt(gw, BOB.username, BOB.password), LOCKED);
    assert.equal(await attempt(gw, BOB.username, "guess-4"), LOCKED);
    // The user name is matched case-insensitively, as the login itself is.
    assert.equal(await attempt(gw, BOB.username.toUpperCase(), BOB.password), LOCKED);
  });

  await t.test("another user from the same address is not blocked", async () => {
    assert.equal(await attempt(gw, ALICE.username, ALICE.password), SUCCEEDED);
  });

  await t.test("the lockout was counted once", async () => {
    assert.deepEqual(await lockouts(gw), { user: 1 });
  });
});

test("per address, across connections: a locked address is refused before any exchange", async (t) => {
  const gw = await startTestGateway(t, {
    users: [ALICE],
    auth: {
      bruteForce: { failureDelaySeconds: 0, perAddress: { maxFailures: 4, ...WINDOW }, perUser: NEVER },
    },
  });
  const attacker = "127.0.0.1";

  await t.test("failures for different users add up for the address", async () => {
    for (const user of ["u1@example.test", "u2@example.test", "u3@example.test", "u4@example.test"]) {
      assert.equal(await attempt(gw, user, "guess", attacker), INVALID);
    }
    assert.deepEqual(await lockouts(gw), { address: 1 });
  });

  await t.test("then even a correct login from that address gets 454 4.7.0", async () => {
    assert.equal(await attempt(gw, ALICE.username, ALICE.password, attacker), LOCKED);
    // Refused at the AUTH command itself: no exchange starts, so no prompt to answer.
    const c = await session(gw, attacker);
    assert.equal((await c.command("AUTH LOGIN")).last, LOCKED);
    c.close();
  });

  await t.test("another client address is not blocked", async () => {
    assert.equal(await attempt(gw, ALICE.username, ALICE.password, "127.0.0.2"), SUCCEEDED);
  });

  await t.test("the lockout was counted once", async () => {
    assert.deepEqual(await lockouts(gw), { address: 1 });
  });
});

test("failureDelaySeconds: a failed AUTH is answered after the delay, a successful one is not", async (t) => {
  const gw = await startTestGateway(t, {
    users: [ALICE],
    auth: { bruteForce: { ...NO_LOCKOUTS, failureDelaySeconds: 1 } },
  });
  /** Milliseconds from the AUTH command to its reply, and the reply. */
  const timed = async (user: string, password: string) => {
    const c = await session(gw);
    const started = performance.now();
    const { last } = await c.command(plain(user, password));
    const ms = performance.now() - started;
    c.close();
    return { ms, last };
  };
  const success = await timed(ALICE.username, ALICE.password);
  const wrongPassword = await timed(ALICE.username, "guess");
  const unknownUser = await timed("nobody@example.test", "guess");
  assert.equal(success.last, SUCCEEDED);
  assert.equal(wrongPassword.last, INVALID);
  assert.equal(unknownUser.last, INVALID);
  // Tolerant bounds: the delay is a timer of 1 s; verifying a password takes far less, even on a busy
  // machine, and is in both the failures and the success.
  for (const failure of [wrongPassword, unknownUser]) {
    assert.ok(failure.ms >= 950, `a failure was answered after ${failure.ms.toFixed(0)} ms`);
    assert.ok(
      failure.ms - success.ms >= 500,
      `failure ${failure.ms.toFixed(0)} ms, success ${success.ms.toFixed(0)} ms`,
    );
  }
});

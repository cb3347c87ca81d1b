// AUTH brute force within one connection and across connections — per user, per user at one address,
// and per client address — against a running gateway. Across connections the gateway slows guessing
// down instead of refusing, so each test measures who waits and checks that the right password still
// logs in. Each scope gets its own gateway and limits, so that exactly the scope under test trips; the
// penalties are counted in postern_auth_lockouts_total{scope}. Last, the delay every failed AUTH waits.
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

/** The scopes that started lockouts (every scope is exposed from 0). */
async function lockouts(gw: TestGateway): Promise<Record<string, number>> {
  const metric = await gw.metrics.registry.getSingleMetric("postern_auth_lockouts_total")?.get();
  return Object.fromEntries(
    (metric?.values ?? []).filter((v) => v.value > 0).map((v) => [String(v.labels.scope), v.value]),
  );
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

/** Milliseconds from an AUTH PLAIN command to its reply on a fresh connection, and the reply. */
async function timedAttempt(gw: TestGateway, user: string, password: string, localAddress?: string) {
  const c = await session(gw, localAddress);
  const started = performance.now();
  const { last } = await c.command(plain(user, password));
  const ms = performance.now() - started;
  c.close();
  return { ms, last };
}

test("per user, across addresses: guessing slows the user down everywhere but its usual address; the right password still logs in", async (t) => {
  const gw = await startTestGateway(t, {
    users: [ALICE, BOB],
    auth: {
      bruteForce: {
        failureDelaySeconds: 0,
        maxDelaySeconds: 2,
        perAddress: NEVER,
        perUser: { maxFailures: 3, ...WINDOW },
      },
    },
  });
  const home = "127.0.0.1";
  assert.equal(await attempt(gw, BOB.username, BOB.password, home), SUCCEEDED);

  await t.test("three failures from three addresses are each answered 535", async () => {
    for (const address of ["127.0.0.2", "127.0.0.3", "127.0.0.4"]) {
      assert.equal(await attempt(gw, BOB.username, "guess", address), INVALID);
    }
    assert.deepEqual(await lockouts(gw), { user: 1 });
  });

  await t.test(
    "then an attempt from a new address waits before it is checked, and a right one succeeds",
    async () => {
      const wrong = await timedAttempt(gw, BOB.username, "guess-4", "127.0.0.5");
      assert.equal(wrong.last, INVALID);
      assert.ok(wrong.ms >= 950, `slowed: ${wrong.ms.toFixed(0)} ms`);
      // Any spelling of the name is the same user.
      const right = await timedAttempt(gw, BOB.username.toUpperCase(), BOB.password, "127.0.0.6");
      assert.equal(right.last, SUCCEEDED);
      assert.ok(right.ms >= 950, `the right password waited too: ${right.ms.toFixed(0)} ms`);
    },
  );

  await t.test("the user's usual address and other users are not slowed", async () => {
    const usual = await timedAttempt(gw, BOB.username, BOB.password, home);
    assert.equal(usual.last, SUCCEEDED);
    assert.ok(usual.ms < 900, `${usual.ms.toFixed(0)} ms`);
    const other = await timedAttempt(gw, ALICE.username, ALICE.password, "127.0.0.5");
    assert.equal(other.last, SUCCEEDED);
    assert.ok(other.ms < 900, `${other.ms.toFixed(0)} ms`);
  });
});

test("per user at one address: one penalized attempt at a time, the next answered 454 4.7.0 at once", async (t) => {
  const gw = await startTestGateway(t, {
    users: [ALICE],
    auth: {
      bruteForce: {
        failureDelaySeconds: 0,
        maxDelaySeconds: 2,
        perAddress: NEVER,
        perUser: { maxFailures: 3, ...WINDOW },
      },
    },
  });
  assert.equal(await attempt(gw, ALICE.username, "guess", "127.0.0.9"), INVALID);
  const first = await session(gw, "127.0.0.9");
  const second = await session(gw, "127.0.0.9");
  first.write(`${plain(ALICE.username, ALICE.password)}\r\n`);
  await new Promise((resolve) => setTimeout(resolve, 200)); // the first is waiting its turn now
  const busy = await timedAttempt(gw, ALICE.username, ALICE.password, "127.0.0.9");
  assert.equal(busy.last, LOCKED);
  assert.ok(busy.ms < 500, `refused at once: ${busy.ms.toFixed(0)} ms`);
  assert.equal((await first.read()).last, SUCCEEDED, "the attempt whose turn it was logs in");
  assert.equal((await second.command(plain(ALICE.username, ALICE.password))).last, SUCCEEDED, "fast again");
  first.close();
  second.close();
});

test("per address: spraying many user names slows that address, not a user known there nor another address", async (t) => {
  const gw = await startTestGateway(t, {
    users: [ALICE],
    auth: {
      bruteForce: {
        failureDelaySeconds: 0,
        maxDelaySeconds: 2,
        perAddress: { maxFailures: 4, ...WINDOW },
        perUser: NEVER,
      },
    },
  });
  const sprayer = "127.0.0.1";
  assert.equal(await attempt(gw, ALICE.username, ALICE.password, sprayer), SUCCEEDED, "alice shares it");

  await t.test(
    "failures for different users add up for the address; one user's repeats count once",
    async () => {
      for (let i = 0; i < 5; i++)
        assert.equal(await attempt(gw, "u1@example.test", `guess${i}`, sprayer), INVALID);
      assert.deepEqual(await lockouts(gw), {});
      for (const user of ["u2@example.test", "u3@example.test", "u4@example.test"]) {
        assert.equal(await attempt(gw, user, "guess", sprayer), INVALID);
      }
      assert.deepEqual(await lockouts(gw), { address: 1 });
    },
  );

  await t.test("then a new name from that address waits; alice, who logged in there, does not", async () => {
    const next = await timedAttempt(gw, "u5@example.test", "guess", sprayer);
    assert.equal(next.last, INVALID);
    assert.ok(next.ms >= 950, `${next.ms.toFixed(0)} ms`);
    const alice = await timedAttempt(gw, ALICE.username, ALICE.password, sprayer);
    assert.equal(alice.last, SUCCEEDED);
    assert.ok(alice.ms < 900, `${alice.ms.toFixed(0)} ms`);
  });

  await t.test("another client address is not slowed", async () => {
    const other = await timedAttempt(gw, "u6@example.test", "guess", "127.0.0.2");
    assert.equal(other.last, INVALID);
    assert.ok(other.ms < 900, `${other.ms.toFixed(0)} ms`);
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

test("one identity key: a user penalized as josé is slowed under every spelling of the name", async (t) => {
  const jose: TestUser = { username: "jos\u00e9@example.test", password: "jose-secret" };
  const gw = await startTestGateway(t, {
    users: [jose],
    auth: {
      bruteForce: {
        failureDelaySeconds: 0,
        maxDelaySeconds: 2,
        perAddress: NEVER,
        perUser: { maxFailures: 3, ...WINDOW },
      },
    },
  });
  for (const [spelling, address] of [
    ["jos\u00e9@example.test", "127.0.0.2"],
    ["JOS\u00c9@EXAMPLE.TEST", "127.0.0.3"],
    ["\uff4a\uff4f\uff53\u00e9@example.test", "127.0.0.4"],
  ] as const) {
    assert.equal(await attempt(gw, spelling, "guess", address), INVALID);
  }
  // Decomposed (NFD): once a way around the penalty, and a right guess then showed as 454 vs 535.
  const decomposed = "jose\u0301@example.test";
  const wrong = await timedAttempt(gw, decomposed, "guess", "127.0.0.5");
  assert.equal(wrong.last, INVALID);
  assert.ok(wrong.ms >= 950, `slowed like any spelling: ${wrong.ms.toFixed(0)} ms`);
  const right = await timedAttempt(gw, decomposed, jose.password, "127.0.0.6");
  assert.equal(right.last, SUCCEEDED, "a right password is a login, never a different refusal");
  assert.ok(right.ms >= 950, `${right.ms.toFixed(0)} ms`);
});

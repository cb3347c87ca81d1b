// Postfix relaying through the gateway, as the user tried it: the account's password was just
// rotated, Postfix still has the old one and keeps retrying its queue. After two queue runs on a freshly
// started gateway (default brute-force settings), Postfix gets the new password — and its mail must go
// out within seconds, not after a 15-minute lockout its own retries earned.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startPostfixClient } from "../testing/postfix-client.ts";
import { sinkCopies, testMessage } from "../testing/run.ts";
import { ALICE, startTestGateway } from "../testing/test-gateway.ts";

const MESSAGES = 6;
const OLD_PASSWORD = "alice-secret-before-rotation";

/** Polls `condition` until it holds or `ms` pass; `tick` runs between polls (a queue run, say). */
async function eventually(condition: () => Promise<boolean>, ms: number, tick?: () => Promise<void>) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await tick?.();
    await sleep(500);
  }
  return true;
}

test("Postfix retrying a rotated password is slowed, then delivers as soon as it has the new one", async (t) => {
  const gw = await startTestGateway(t, { users: [ALICE], auth: { bruteForce: {} } });
  const postfix = await startPostfixClient({
    relayPort: gw.ports.submission,
    caFile: gw.pki.caCert,
    username: ALICE.username,
    password: OLD_PASSWORD,
    bindAddress: "127.0.0.7",
  });
  t.after(() => postfix.stop());
  const messages = Array.from({ length: MESSAGES }, () => testMessage(ALICE.username, "bob@example.net"));
  for (const m of messages) await postfix.send(m.from, m.to, m.text);

  const deferrals = async () =>
    (await postfix.log()).match(/status=deferred \(SASL authentication failed/g)?.length ?? 0;
  for (const run of [1, 2]) {
    await postfix.flush();
    const seen = await eventually(async () => (await deferrals()) >= run * MESSAGES, 60_000);
    assert.ok(seen, `queue run ${run}: ${await deferrals()} deferrals\n${await postfix.log()}`);
  }
  assert.equal(await postfix.queued(), MESSAGES, "nothing went out with the old password");

  await postfix.setPassword(ALICE.password);
  const delivered = await eventually(
    async () => (await postfix.queued()) === 0,
    45_000,
    () => postfix.flush(),
  );
  assert.ok(delivered, `still queued after the new password:\n${(await postfix.log()).slice(-4000)}`);
  for (const m of messages) assert.equal((await sinkCopies(gw.sink, m.token)).length, 1, m.token);
});

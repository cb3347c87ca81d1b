// Limits that must hold over a session's lifetime and across a user's parallel sessions: an account
// changed after AUTH, rate limits that cannot be dodged by spelling or by parallelism, a cap on the
// upstream connections one user can hold, and a recipient named twice going upstream once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

/** Authenticates with PLAIN; `authzid` is the authorization identity the client asks for. */
const login = (gw: TestGateway, authzid = "") =>
  RawSmtp.authenticated(gw.ports.submissions, ALICE, { tls: "implicit", authzid });

async function send(c: RawSmtp, to: string[] = ["bob@example.net"]) {
  const mail = await c.command(`MAIL FROM:<${ALICE.username}>`);
  if (mail.code !== 250) return mail;
  for (const rcpt of to) {
    const r = await c.command(`RCPT TO:<${rcpt}>`);
    if (r.code !== 250) return r;
  }
  await c.command("DATA");
  return c.command(`From: ${ALICE.username}\r\n\r\nhello\r\n.`);
}

test("a user disabled after AUTH sends nothing more on the open session", async (t) => {
  const gw = await startTestGateway(t);
  const c = await login(gw);
  assert.equal((await send(c)).code, 250);
  await gw.swapVolume("credentials", { "users.yaml": await gw.usersYaml([{ ...ALICE, disabled: true }]) });
  await gw.gateway?.reload();
  assert.equal(
    (await c.command(`MAIL FROM:<${ALICE.username}>`)).last,
    "550 5.7.1 Authenticated user is no longer allowed to send",
  );
  c.close();
  assert.equal((await gw.sink.messages()).length, 1);
});

test("a rate limit counts the user, however the authorization identity is spelled", async (t) => {
  const gw = await startTestGateway(t, {
    config: { policy: { rateLimit: { messages: 1, windowSeconds: 3600 } } },
  });
  const first = await login(gw, "alice@example.test");
  assert.equal((await send(first)).code, 250);
  first.close();
  const shouted = await login(gw, "ALICE@EXAMPLE.TEST");
  assert.match(
    (await shouted.command(`MAIL FROM:<${ALICE.username}>`)).last,
    /^451 4\.7\.1 Message rate limit/,
  );
  shouted.close();
});

test("parallel transactions cannot all slip under a rate limit", async (t) => {
  const gw = await startTestGateway(t, {
    config: { policy: { rateLimit: { messages: 2, windowSeconds: 3600 } } },
  });
  const sessions = await Promise.all([1, 2, 3, 4].map(() => login(gw)));
  const mails = await Promise.all(sessions.map((c) => c.command(`MAIL FROM:<${ALICE.username}>`)));
  assert.equal(mails.filter((r) => r.code === 250).length, 2, mails.map((r) => r.last).join(" | "));
  // An undelivered transaction gives its reservation back.
  const open = sessions.filter((_, i) => mails[i]?.code === 250);
  await open[0]?.command("RSET");
  const again = await sessions
    .find((_, i) => mails[i]?.code !== 250)
    ?.command(`MAIL FROM:<${ALICE.username}>`);
  assert.equal(again?.code, 250, again?.last);
  for (const c of sessions) c.close();
});

test("one user cannot hold more upstream transactions than limits.maxTransactionsPerUser", async (t) => {
  const gw = await startTestGateway(t, { config: { limits: { maxTransactionsPerUser: 2 } } });
  const sessions = await Promise.all([1, 2, 3].map(() => login(gw)));
  const [a, b, c] = sessions as [RawSmtp, RawSmtp, RawSmtp];
  assert.equal((await a.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
  assert.equal((await b.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
  assert.equal(
    (await c.command(`MAIL FROM:<${ALICE.username}>`)).last,
    "451 4.7.1 Too many concurrent transactions for this user, try again",
  );
  a.close(); // a disconnect ends its transaction and frees the slot
  await a.waitClosed();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
  for (const s of sessions) s.close();
});

test("a recipient named twice reaches the upstream once", async (t) => {
  const gw = await startTestGateway(t);
  const c = await login(gw);
  assert.equal((await send(c, ["bob@example.net", "Bob@example.net"])).code, 250);
  c.close();
  const [message] = await gw.sink.messages();
  assert.equal(message?.match(/^X-Rcpt-Args: /gm)?.length, 1, message);
});

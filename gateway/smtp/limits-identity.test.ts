// Send limits and transaction caps count against the login that authenticated and the identity it acts
// for, once each, under one identity key: a login allowed to act for N identities does not get N+1
// times its allowance, and no spelling of an authzid opens a fresh counter.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { startTestGateway, type TestUser } from "../testing/test-gateway.ts";

const AGENT: TestUser = {
  username: "agent@example.test",
  password: "agent-secret",
  authorizeFor: ["team-a@example.test", "team-b@example.test"],
};
const TEAM_A: TestUser = { username: "team-a@example.test", password: "a-secret" };
const TEAM_B: TestUser = { username: "team-b@example.test", password: "b-secret" };

const REFUSED = /^451 4\.7\.1 Message rate limit exceeded, retry after \d+ seconds$/;

/** One message on a session of `agent` acting for `authzid`; the reply to DATA (or the refusal). */
async function sendAs(port: number, authzid: string) {
  const c = await RawSmtp.authenticated(port, AGENT, { tls: "implicit", authzid });
  try {
    const from = authzid.toLowerCase();
    const mail = await c.command(`MAIL FROM:<${from}>`);
    if (mail.code !== 250) return mail.last;
    assert.equal((await c.command("RCPT TO:<x@example.net>")).code, 250);
    assert.equal((await c.command("DATA")).code, 354);
    return (await c.command(`From: ${from}\r\n\r\nx\r\n.`)).last;
  } finally {
    c.close();
  }
}

test("a login acting for several identities shares one allowance with itself", async (t) => {
  const gw = await startTestGateway(t, {
    users: [AGENT, TEAM_A, TEAM_B],
    config: { policy: { rateLimit: { messages: 2, windowSeconds: 60 } } },
  });
  const port = gw.ports.submissions;
  assert.match(await sendAs(port, "team-a@example.test"), /^250 /);
  assert.match(await sendAs(port, "TEAM-A@example.test"), /^250 /, "one identity, any spelling");
  assert.match(await sendAs(port, "team-b@example.test"), REFUSED, "the login's two are used up");
  assert.match(await sendAs(port, "Team-A@Example.TEST"), REFUSED);
});

test("logins acting for one shared identity share that identity's allowance", async (t) => {
  const other: TestUser = { ...AGENT, username: "agent2@example.test", password: "agent2-secret" };
  const gw = await startTestGateway(t, {
    users: [AGENT, other, { ...TEAM_A, rateLimit: { messages: 1, windowSeconds: 60 } }, TEAM_B],
    config: { policy: { rateLimit: { messages: 5, windowSeconds: 60 } } },
  });
  assert.match(await sendAs(gw.ports.submissions, "team-a@example.test"), /^250 /);
  const c = await RawSmtp.authenticated(gw.ports.submissions, other, {
    tls: "implicit",
    authzid: "team-a@example.test",
  });
  assert.match((await c.command("MAIL FROM:<team-a@example.test>")).last, REFUSED);
  c.close();
});

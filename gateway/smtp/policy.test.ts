// MSA policy against a running gateway with a real smtp-sink upstream: sender alignment (envelope
// and header), MAIL FROM AUTH=, limits, rate limits, source networks, disabled users, and the SMTP
// smuggling end-of-data variants.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway, type TestGateway, type TestUser } from "../testing/test-gateway.ts";

const plain = (u: TestUser) => Buffer.from(`\0${u.username}\0${u.password}`).toString("base64");

async function login(gw: TestGateway, user: TestUser = ALICE): Promise<RawSmtp> {
  const c = await RawSmtp.connect(gw.ports.submissions, { tls: {} });
  await c.read();
  await c.command("EHLO client.test");
  const reply = await c.command(`AUTH PLAIN ${plain(user)}`);
  assert.equal(reply.code, 235, reply.last);
  return c;
}

/** MAIL, RCPT(s), DATA with `message` (CRLF-terminated lines, no final dot); returns the DATA reply. */
async function send(c: RawSmtp, from: string, to: string[], message: string) {
  const mail = await c.command(`MAIL FROM:<${from}>`);
  if (mail.code !== 250) return mail;
  for (const rcpt of to) {
    const r = await c.command(`RCPT TO:<${rcpt}>`);
    if (r.code !== 250) return r;
  }
  assert.equal((await c.command("DATA")).code, 354);
  return c.command(`${message}.`);
}

const BOB: TestUser = { username: "bob@example.test", password: "bob-secret", senders: ["*@bob.example"] };
const SHARED: TestUser = {
  username: "shared@example.test",
  password: "shared-secret",
  senders: ["team@shared.example"],
};

test("sender alignment", async (t) => {
  const gw = await startTestGateway(t, {
    users: [{ ...ALICE, authorizeFor: ["shared@example.test"] }, BOB, SHARED],
  });

  await t.test("envelope sender not owned by the user: 553 5.7.1, nothing relayed", async () => {
    const c = await login(gw);
    assert.equal(
      (await c.command("MAIL FROM:<bob@bob.example>")).last,
      "553 5.7.1 Sender address not owned by authenticated user",
    );
    c.close();
  });

  await t.test("*@domain patterns match any local part, case-insensitively", async () => {
    const c = await login(gw, BOB);
    const reply = await send(
      c,
      "Anyone@BOB.example",
      ["x@example.net"],
      "From: anyone@bob.example\r\n\r\nhi\r\n",
    );
    assert.equal(reply.code, 250, reply.last);
    c.close();
  });

  await t.test("header From not owned by the user: 550 5.7.1", async () => {
    const c = await login(gw);
    const reply = await send(
      c,
      ALICE.username,
      ["x@example.net"],
      "From: Boss <ceo@bob.example>\r\n\r\nwire money\r\n",
    );
    assert.equal(reply.last, "550 5.7.1 From header address not owned by authenticated user");
    c.close();
  });

  await t.test("two From fields: 550 5.6.0", async () => {
    const c = await login(gw);
    const msg = `From: ${ALICE.username}\r\nFrom: ceo@bob.example\r\n\r\nx\r\n`;
    assert.equal((await send(c, ALICE.username, ["x@example.net"], msg)).code, 550);
    c.close();
  });

  await t.test("MAIL FROM AUTH= is honoured only for identities the user may submit for", async () => {
    const c = await login(gw);
    const ok = await send(
      c,
      "team@shared.example",
      ["x@example.net"],
      "From: team@shared.example\r\n\r\nx\r\n",
    ).catch(() => undefined);
    assert.notEqual(ok?.code, 250, "without AUTH= the shared sender is not alice's");
    await c.command("RSET");
    const honoured = await c.command("MAIL FROM:<team@shared.example> AUTH=shared@example.test");
    assert.equal(honoured.code, 250, honoured.last);
    await c.command("RSET");
    // BOB may not submit for shared: his AUTH= is treated as AUTH=<>.
    const b = await login(gw, BOB);
    assert.equal((await b.command("MAIL FROM:<team@shared.example> AUTH=shared@example.test")).code, 553);
    b.close();
    c.close();
  });

  const messages = await gw.sink.messages();
  assert.equal(messages.length, 1, "only the aligned message went upstream");
});

test("limits: SIZE, recipients, per-user rate limits", async (t) => {
  const gw = await startTestGateway(t, {
    users: [ALICE, { ...BOB, senders: ["bob@example.test"] }],
    config: {
      limits: { maxMessageBytes: 4096, maxRecipients: 3 },
      policy: { rateLimit: { messages: 2, windowSeconds: 60 } },
    },
  });

  await t.test("SIZE is advertised; a larger declared or actual size gets 552 5.3.4", async () => {
    const c = await RawSmtp.connect(gw.ports.submissions, { tls: {} });
    await c.read();
    assert.ok((await c.command("EHLO client.test")).lines.includes("SIZE 4096"));
    await c.command(`AUTH PLAIN ${plain(ALICE)}`);
    assert.match((await c.command(`MAIL FROM:<${ALICE.username}> SIZE=5000`)).last, /^552 5\.3\.4 /);
    const big = `From: ${ALICE.username}\r\n\r\n${"x".repeat(70)}\r\n`.repeat(80);
    assert.match((await send(c, ALICE.username, ["x@example.net"], big)).last, /^552 5\.3\.4 /);
    c.close();
  });

  await t.test("recipients past the limit: 452 4.5.3", async () => {
    const c = await login(gw, { ...BOB, senders: ["bob@example.test"] });
    await c.command("MAIL FROM:<bob@example.test>");
    for (const n of [1, 2, 3]) assert.equal((await c.command(`RCPT TO:<r${n}@example.net>`)).code, 250);
    assert.equal((await c.command("RCPT TO:<r4@example.net>")).last, "452 4.5.3 Too many recipients");
    c.close();
  });

  await t.test("the third message within the window: 451 4.7.1 with a retry-after", async () => {
    const c = await login(gw);
    const msg = `From: ${ALICE.username}\r\n\r\nx\r\n`;
    assert.equal((await send(c, ALICE.username, ["x@example.net"], msg)).code, 250);
    assert.equal((await send(c, ALICE.username, ["x@example.net"], msg)).code, 250);
    const third = await c.command(`MAIL FROM:<${ALICE.username}>`);
    assert.match(third.last, /^451 4\.7\.1 Message rate limit exceeded, retry after \d+ seconds$/);
    c.close();
    // Another user is not affected.
    const b = await login(gw, { ...BOB, senders: ["bob@example.test"] });
    assert.equal(
      (await send(b, "bob@example.test", ["x@example.net"], "From: bob@example.test\r\n\r\nx\r\n")).code,
      250,
    );
    b.close();
  });
});

test("disabled users and users outside their allowed networks get 535 5.7.8", async (t) => {
  const gw = await startTestGateway(t, { users: [ALICE, { ...BOB, disabled: true }] });
  const c = await RawSmtp.connect(gw.ports.submissions, { tls: {} });
  await c.read();
  await c.command("EHLO client.test");
  assert.equal(
    (await c.command(`AUTH PLAIN ${plain(BOB)}`)).last,
    "535 5.7.8 Authentication credentials invalid",
  );
  c.close();
  // Restrict alice to a network the test client is not in (it connects from 127.0.0.1).
  const yaml = (await gw.usersYaml([ALICE])).replace(
    "authorizeFor: []",
    "authorizeFor: []\n    allowedCidrs: [10.0.0.0/8]",
  );
  await gw.swapVolume("credentials", { "users.yaml": yaml });
  await gw.gateway?.reload();
  const d = await RawSmtp.connect(gw.ports.submissions, { tls: {} });
  await d.read();
  await d.command("EHLO client.test");
  assert.equal(
    (await d.command(`AUTH PLAIN ${plain(ALICE)}`)).last,
    "535 5.7.8 Authentication credentials invalid",
  );
  d.close();
});

test("SMTP smuggling: no end-of-data variant ends the message early, no bare CR or LF goes upstream", async (t) => {
  const gw = await startTestGateway(t);
  const variants = ["\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n", "\r\n\x00.\r\n", "\r.\r\n", "\r\n.\r"];
  for (const [i, end] of variants.entries()) {
    const c = await login(gw);
    await c.command(`MAIL FROM:<${ALICE.username}>`);
    await c.command("RCPT TO:<victim@example.net>");
    await c.command("DATA");
    const smuggled = `MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nFrom: ceo@bank.example\r\n\r\nsmuggled ${i}\r\n`;
    c.write(`From: ${ALICE.username}\r\nSubject: variant ${i}\r\n\r\nbody${end}${smuggled}.\r\n`);
    const reply = await c.read();
    assert.equal(reply.code, 250, `variant ${JSON.stringify(end)}: ${reply.last}`);
    c.close();
  }
  const messages = await gw.sink.messages();
  assert.equal(messages.length, variants.length, "a smuggled second message reached the upstream");
  for (const m of messages) {
    // smtp-sink writes CRLF as LF, so a CR in its dump is a bare CR that went upstream.
    assert.doesNotMatch(m, /\r/, "bare CR upstream");
    assert.match(m, /smuggled \d/, "the smuggled text stays inside the one message");
  }
});

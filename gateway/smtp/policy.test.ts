// MSA policy against a running gateway with a real smtp-sink upstream: sender alignment (envelope
// and header, and each alone), MAIL FROM AUTH=, limits, rate limits (the default and a user's own),
// source networks (in and out), disabled users, and the SMTP smuggling end-of-data variants.
import assert from "node:assert/strict";
import { test } from "node:test";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway, type TestGateway, type TestUser } from "../testing/test-gateway.ts";

const login = (gw: TestGateway, user: TestUser = ALICE) => RawSmtp.authenticated(gw.ports.submissions, user);

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

test("senderAlignment envelope: only the envelope sender must be the user's", async (t) => {
  const gw = await startTestGateway(t, { config: { policy: { senderAlignment: "envelope" } } });

  await t.test("a header From not owned by the user passes and is relayed", async () => {
    const c = await login(gw);
    const reply = await send(
      c,
      ALICE.username,
      ["x@example.net"],
      "From: Boss <ceo@bob.example>\r\n\r\nenvelope mode\r\n",
    );
    assert.equal(reply.code, 250, reply.last);
    c.close();
    const messages = await gw.sink.messages();
    assert.equal(messages.length, 1);
    assert.match(messages[0] ?? "", /^From: Boss <ceo@bob\.example>$/m);
  });

  await t.test("an envelope sender not owned by the user: 553 5.7.1", async () => {
    const c = await login(gw);
    assert.equal(
      (await c.command("MAIL FROM:<ceo@bob.example>")).last,
      "553 5.7.1 Sender address not owned by authenticated user",
    );
    c.close();
  });
});

test("senderAlignment header: only the header From must be the user's", async (t) => {
  const gw = await startTestGateway(t, { config: { policy: { senderAlignment: "header" } } });

  await t.test("an envelope sender not owned by the user passes and is relayed", async () => {
    const c = await login(gw);
    const reply = await send(
      c,
      "bounces@bob.example",
      ["x@example.net"],
      `From: ${ALICE.username}\r\n\r\nheader mode\r\n`,
    );
    assert.equal(reply.code, 250, reply.last);
    c.close();
    const messages = await gw.sink.messages();
    assert.equal(messages.length, 1);
    assert.match(messages[0] ?? "", /^X-Mail-Args: <bounces@bob\.example>$/m);
  });

  await t.test("a header From not owned by the user: 550 5.7.1", async () => {
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
    await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`);
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

test("a user's own rateLimit replaces the gateway default, higher or lower", async (t) => {
  const window = { windowSeconds: 60 };
  const higher: TestUser = {
    username: "higher@example.test",
    password: "higher-secret",
    rateLimit: { messages: 3, ...window },
  };
  const lower: TestUser = {
    username: "lower@example.test",
    password: "lower-secret",
    rateLimit: { messages: 1, ...window },
  };
  const gw = await startTestGateway(t, {
    users: [higher, lower],
    config: { policy: { rateLimit: { messages: 2, ...window } } },
  });
  const refused = /^451 4\.7\.1 Message rate limit exceeded, retry after \d+ seconds$/;
  /** Sends `count` messages as `user` on one session; then returns the reply to the next MAIL FROM. */
  const nextAfter = async (user: TestUser, count: number) => {
    const c = await login(gw, user);
    const msg = `From: ${user.username}\r\n\r\nx\r\n`;
    for (let i = 0; i < count; i++) {
      const reply = await send(c, user.username, ["x@example.net"], msg);
      assert.equal(reply.code, 250, `message ${i + 1}: ${reply.last}`);
    }
    const next = await c.command(`MAIL FROM:<${user.username}>`);
    c.close();
    return next.last;
  };

  await t.test("a higher limit: the third message passes, the fourth gets 451 4.7.1", async () => {
    assert.match(await nextAfter(higher, 3), refused);
  });

  await t.test("a lower limit: the second message gets 451 4.7.1", async () => {
    assert.match(await nextAfter(lower, 1), refused);
  });
});

test("recipient rate limit: recipients add up across messages; past it RCPT gets 451 4.7.1", async (t) => {
  const gw = await startTestGateway(t, {
    config: { policy: { rateLimit: { recipients: 3, windowSeconds: 60 } } },
  });
  const c = await login(gw);
  const msg = `From: ${ALICE.username}\r\n\r\nx\r\n`;
  assert.equal((await send(c, ALICE.username, ["a@example.net", "b@example.net"], msg)).code, 250);
  assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
  assert.equal((await c.command("RCPT TO:<c@example.net>")).code, 250);
  const refused = await c.command("RCPT TO:<d@example.net>");
  const match = /^451 4\.7\.1 Recipient rate limit exceeded, retry after (\d+) seconds$/.exec(refused.last);
  assert.ok(match, refused.last);
  const retryAfter = Number(match[1]);
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `retry after ${retryAfter} s in a 60 s window`);
  // The recipient accepted before the limit still gets its message.
  assert.equal((await c.command("DATA")).code, 354);
  assert.equal((await c.command(`${msg}.`)).code, 250);
  c.close();
  const recipients = (await gw.sink.messages()).flatMap((m) =>
    [...m.matchAll(/^X-Rcpt-Args: <(.*)>$/gm)].map((r) => r[1]),
  );
  assert.deepEqual(recipients.sort(), ["a@example.net", "b@example.net", "c@example.net"]);
});

test("disabled users and users outside their allowed networks get 535 5.7.8", async (t) => {
  const gw = await startTestGateway(t, { users: [ALICE, { ...BOB, disabled: true }] });
  const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });
  assert.equal(
    (await c.command(`AUTH PLAIN ${authPlain(BOB.username, BOB.password)}`)).last,
    "535 5.7.8 Authentication credentials invalid",
  );
  c.close();
  // Restrict alice to a network the test client is not in (it connects from 127.0.0.1).
  const yaml = await gw.usersYaml([{ ...ALICE, allowedCidrs: ["10.0.0.0/8"] }]);
  await gw.swapVolume("credentials", { "users.yaml": yaml });
  await gw.gateway?.reload();
  const d = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });
  assert.equal(
    (await d.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`)).last,
    "535 5.7.8 Authentication credentials invalid",
  );
  d.close();
});

test("users inside their allowed networks authenticate", async (t) => {
  const loopback: TestUser = { ...BOB, allowedCidrs: ["127.0.0.0/8"] };
  const onlyDotTwo: TestUser = { ...SHARED, allowedCidrs: ["127.0.0.2/32"] };
  const gw = await startTestGateway(t, { users: [loopback, onlyDotTwo] });
  // The test client connects from 127.0.0.1 unless told otherwise.
  (await RawSmtp.authenticated(gw.ports.submissions, loopback)).close();
  (
    await RawSmtp.authenticated(gw.ports.submissions, onlyDotTwo, {
      tls: "implicit",
      localAddress: "127.0.0.2",
    })
  ).close();
  const elsewhere = await RawSmtp.session(gw.ports.submissions, {
    tls: "implicit",
    localAddress: "127.0.0.1",
  });
  assert.equal(
    (await elsewhere.command(`AUTH PLAIN ${authPlain(onlyDotTwo.username, onlyDotTwo.password)}`)).last,
    "535 5.7.8 Authentication credentials invalid",
  );
  elsewhere.close();
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
    // A NUL is refused outright: some MTAs drop NULs before they look for the end of data.
    const expected = end.includes("\x00") ? "554 5.6.0 Message contains NUL characters" : undefined;
    if (expected) assert.equal(reply.last, expected);
    else assert.equal(reply.code, 250, `variant ${JSON.stringify(end)}: ${reply.last}`);
    c.close();
  }
  const messages = await gw.sink.messages();
  assert.equal(messages.length, variants.length - 1, "a smuggled second message reached the upstream");
  for (const m of messages) {
    // smtp-sink writes CRLF as LF, so a CR in its dump is a bare CR that went upstream.
    assert.doesNotMatch(m, /\r/, "bare CR upstream");
    assert.match(m, /smuggled \d/, "the smuggled text stays inside the one message");
  }
});

// The 16 MAIL FROM / RCPT TO combinations of nmap's smtp-open-relay script (percent hack, quoted local
// parts, nested @, source routes, bang paths, with and without an address literal), against the
// relay-port listener without AUTH and the submission port with AUTH. Nothing may reach the upstream
// except what an authenticated user addressed to a plain mailbox (on either listener).
import assert from "node:assert/strict";
import { test } from "node:test";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { assertDeliveredOnce, testMessage } from "../testing/run.ts";
import { ALICE, startTestGateway } from "../testing/test-gateway.ts";

// nmap's placeholders: the third-party domain mail should be relayed to, the server's own name (from
// its EHLO reply) and its IP address.
const DOMAIN = "example.net";
const SERVER = "gateway.test";
const IP = "127.0.0.1";
const EXTERNAL = `relaytest@${DOMAIN}`;

const NMAP_TESTS: ReadonlyArray<{ from: string; to: string }> = [
  { from: "<>", to: `<${EXTERNAL}>` },
  { from: `<antispam@${DOMAIN}>`, to: `<${EXTERNAL}>` },
  { from: `<antispam@${SERVER}>`, to: `<${EXTERNAL}>` },
  { from: `<antispam@[${IP}]>`, to: `<${EXTERNAL}>` },
  { from: `<antispam@[${IP}]>`, to: `<relaytest%${DOMAIN}@[${IP}]>` },
  { from: `<antispam@[${IP}]>`, to: `<relaytest%${DOMAIN}@${SERVER}>` },
  { from: `<antispam@[${IP}]>`, to: `<"${EXTERNAL}">` },
  { from: `<antispam@[${IP}]>`, to: `<"relaytest%${DOMAIN}">` },
  { from: `<antispam@[${IP}]>`, to: `<${EXTERNAL}@[${IP}]>` },
  { from: `<antispam@[${IP}]>`, to: `<"${EXTERNAL}"@[${IP}]>` },
  { from: `<antispam@[${IP}]>`, to: `<${EXTERNAL}@${SERVER}>` },
  { from: `<antispam@[${IP}]>`, to: `<@[${IP}]:${EXTERNAL}>` },
  { from: `<antispam@[${IP}]>`, to: `<@${SERVER}:${EXTERNAL}>` },
  { from: `<antispam@[${IP}]>`, to: `<${DOMAIN}!relaytest>` },
  { from: `<antispam@[${IP}]>`, to: `<${DOMAIN}!relaytest@[${IP}]>` },
  { from: `<antispam@[${IP}]>`, to: `<${DOMAIN}!relaytest@${SERVER}>` },
];

/** Paths that are not an RFC 5321 Mailbox at all (no "@domain", or two "@"): smtp-server's parser
 *  refuses them with 501 before any policy runs. Every other path parses and meets the policy. */
const UNPARSABLE = new Set([
  `<"${EXTERNAL}">`,
  `<"relaytest%${DOMAIN}">`,
  `<${EXTERNAL}@[${IP}]>`,
  `<"${EXTERNAL}"@[${IP}]>`,
  `<${EXTERNAL}@${SERVER}>`,
  `<${DOMAIN}!relaytest>`,
]);
const SYNTAX_ERROR = "501 5.1.3 Error: Bad recipient address syntax";

test("no open relay", async (t) => {
  const gw = await startTestGateway(t, { relayPort: true });

  await t.test("relay port without AUTH: every RCPT of the 16 nmap tests is refused", async () => {
    const c = await RawSmtp.session(gw.ports.relay, { tls: "none" });
    for (const { from, to } of NMAP_TESTS) {
      assert.equal((await c.command("RSET")).code, 250);
      // Any sender is taken here (there is no user to align it with); the recipient decides.
      assert.equal((await c.command(`MAIL FROM:${from}`)).last, "250 2.1.0 Accepted", from);
      const expected = UNPARSABLE.has(to)
        ? SYNTAX_ERROR
        : "554 5.7.1 Relay access denied: authenticate first";
      assert.equal((await c.command(`RCPT TO:${to}`)).last, expected, to);
    }
    assert.equal((await c.command("DATA")).code, 503);
    c.close();
    assert.deepEqual(await gw.sink.messages(), []);
  });

  await t.test("relay port without AUTH: plain recipients are refused, over TLS too", async () => {
    const c = await RawSmtp.session(gw.ports.relay, { tls: "starttls" });
    assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
    for (const to of [EXTERNAL, "postmaster@example.net", ALICE.username, `someone@${SERVER}`, `x@[${IP}]`]) {
      assert.equal(
        (await c.command(`RCPT TO:<${to}>`)).last,
        "554 5.7.1 Relay access denied: authenticate first",
      );
    }
    assert.equal((await c.command("DATA")).code, 503);
    c.close();
    assert.deepEqual(await gw.sink.messages(), []);
  });

  await t.test("relay port with AUTH (SCRAM-SHA-256, no TLS): relayed, traced `with ESMTPA`", async () => {
    // TLS is never required on the relay port, so a mechanism that needs none logs in in the clear.
    const c = await RawSmtp.authenticated(gw.ports.relay, ALICE, { tls: "none", mechanism: "SCRAM-SHA-256" });
    const message = testMessage(ALICE.username, "bob@example.net");
    assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
    assert.equal((await c.command("RCPT TO:<bob@example.net>")).code, 250);
    assert.equal((await c.command("DATA")).code, 354);
    assert.equal((await c.command(`${message.text}.`)).code, 250);
    c.close();
    await assertDeliveredOnce(gw.sink, message.token, { with: "ESMTPA" });
  });

  await t.test("submission with AUTH: the nmap senders are not the user's and are refused", async () => {
    const c = await RawSmtp.authenticated(gw.ports.submissions, ALICE);
    for (const from of new Set(NMAP_TESTS.map((test) => test.from))) {
      const expected =
        from === "<>"
          ? "553 5.1.7 Bad sender address syntax"
          : "553 5.7.1 Sender address not owned by authenticated user";
      assert.equal((await c.command(`MAIL FROM:${from}`)).last, expected, from);
    }
    // A source-routed sender is declined, even when the final mailbox is the user's own.
    assert.equal(
      (await c.command(`MAIL FROM:<@${SERVER}:${ALICE.username}>`)).last,
      "553 5.1.7 Bad sender address syntax",
    );
    c.close();
  });

  await t.test(
    "submission with AUTH: every relay-hack recipient is refused and none goes upstream",
    async () => {
      const c = await RawSmtp.authenticated(gw.ports.submissions, ALICE);
      assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
      const hacks = NMAP_TESTS.map((test) => test.to).filter((to) => to !== `<${EXTERNAL}>`);
      assert.equal(hacks.length, 12);
      for (const to of hacks) {
        const expected = UNPARSABLE.has(to) ? SYNTAX_ERROR : "553 5.1.3 Bad recipient address syntax";
        assert.equal((await c.command(`RCPT TO:${to}`)).last, expected, to);
      }
      // One plain recipient, so that the message goes upstream and its envelope can be inspected.
      assert.equal((await c.command("RCPT TO:<bob@example.net>")).code, 250);
      const message = testMessage(ALICE.username, "bob@example.net");
      assert.equal((await c.command("DATA")).code, 354);
      assert.equal((await c.command(`${message.text}.`)).code, 250);
      c.close();
      const copy = await assertDeliveredOnce(gw.sink, message.token);
      const recipients = [...copy.matchAll(/^X-Rcpt-Args: (.*)$/gm)].map((match) => match[1]);
      assert.deepEqual(recipients, ["<bob@example.net>"]);
    },
  );
});

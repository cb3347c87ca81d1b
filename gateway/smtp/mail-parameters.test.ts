// MAIL FROM and RCPT TO parameters: only those of advertised extensions are taken (555 5.5.4 for the
// rest, which were accepted and silently ignored before), and BODY=8BITMIME reaches the upstream — or,
// for an upstream that did not announce 8BITMIME, the message is refused as RFC 6152 §3 allows instead of
// being passed on 8-bit. The BODY cases use Python's smtplib as a real client.
import assert from "node:assert/strict";
import { test } from "node:test";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import { run, sinkCopies, testMessage } from "../testing/run.ts";
import { startSmtpServerUpstream } from "../testing/smtp-server-upstream.ts";
import { startSmtpSink } from "../testing/smtp-sink.ts";
import { ALICE, startTestGateway } from "../testing/test-gateway.ts";

const NOT_SUPPORTED = "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented";

test("parameters of extensions EHLO does not advertise: 555 5.5.4", async (t) => {
  const gw = await startTestGateway(t);
  const c = await RawSmtp.authenticated(gw.ports.submissions, ALICE);
  const ehlo = await c.command("EHLO client.test");
  for (const hidden of ["SMTPUTF8", "REQUIRETLS", "DSN"]) assert.ok(!ehlo.lines.includes(hidden), hidden);
  for (const parameters of ["SMTPUTF8", "REQUIRETLS", "RET=FULL", "ENVID=abc", "X-UNKNOWN=1"]) {
    assert.equal(
      (await c.command(`MAIL FROM:<${ALICE.username}> ${parameters}`)).last,
      NOT_SUPPORTED,
      parameters,
    );
  }
  assert.equal((await c.command(`MAIL FROM:<${ALICE.username}> SIZE=100 BODY=8BITMIME`)).code, 250);
  for (const parameters of ["NOTIFY=SUCCESS", "ORCPT=rfc822;bob@example.net"]) {
    assert.equal(
      (await c.command(`RCPT TO:<bob@example.net> ${parameters}`)).last,
      NOT_SUPPORTED,
      parameters,
    );
  }
  assert.equal((await c.command("RCPT TO:<bob@example.net>")).code, 250);
  c.close();
});

// Sends one message with smtplib, MAIL FROM carrying `options`; prints the outcome as JSON.
const CLIENT = `
import json, smtplib, ssl, sys
a = json.load(sys.stdin)
s = smtplib.SMTP_SSL("127.0.0.1", a["port"], local_hostname="client.test",
                     context=ssl.create_default_context(cafile=a["ca"]), timeout=10)
s.login(a["user"], a["password"])
try:
    s.sendmail(a["from"], [a["to"]], a["message"].encode("utf-8"), mail_options=a["options"])
    print(json.dumps({"ok": True}))
except smtplib.SMTPSenderRefused as e:
    print(json.dumps({"code": e.smtp_code, "text": e.smtp_error.decode()}))
s.quit()
`;

async function smtplib(gw: Awaited<ReturnType<typeof startTestGateway>>, options: string[]) {
  const message = testMessage(ALICE.username, "bob@example.net");
  const input = JSON.stringify({
    port: gw.ports.submissions,
    ca: gw.pki.caCert,
    user: ALICE.username,
    password: ALICE.password,
    from: message.from,
    to: message.to,
    message: message.text.replace("Body of", "Grüße from"),
    options,
  });
  const result = await run("python3", ["-c", CLIENT], { input });
  assert.equal(result.code, 0, result.stderr);
  return { outcome: JSON.parse(result.stdout) as Record<string, unknown>, token: message.token };
}

test("BODY=8BITMIME is passed to an upstream that announced 8BITMIME", async (t) => {
  const upstream = await startSmtpServerUpstream(t);
  const gw = await startTestGateway(t, {
    config: { upstream: { host: "127.0.0.1", port: upstream.port, tls: "none" } },
  });
  const { outcome } = await smtplib(gw, ["BODY=8BITMIME"]);
  assert.deepEqual(outcome, { ok: true });
  const args = upstream.mailArgs.at(-1);
  assert.equal(args ? args.BODY : undefined, "8BITMIME");
  assert.match(upstream.messages.at(-1)?.toString("utf8") ?? "", /Grüße from/);
});

test("an upstream without 8BITMIME: BODY=8BITMIME refused 554 5.6.3, 7-bit mail still relayed", async (t) => {
  const sink = await startSmtpSink(["-8"]); // smtp-sink -8: do not announce 8BITMIME
  t.after(() => sink.stop());
  const gw = await startTestGateway(t, {
    config: { upstream: { host: "127.0.0.1", port: sink.port, tls: "none" } },
  });
  const eightBit = await smtplib(gw, ["BODY=8BITMIME"]);
  assert.equal(eightBit.outcome.code, 554);
  assert.match(String(eightBit.outcome.text), /^5\.6\.3 /);
  assert.deepEqual(await sinkCopies(sink, eightBit.token), []);
  const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });
  assert.equal((await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`)).code, 235);
  assert.equal((await c.command(`MAIL FROM:<${ALICE.username}> BODY=7BIT`)).code, 250);
  c.close();
});

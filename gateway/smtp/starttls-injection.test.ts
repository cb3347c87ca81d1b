// STARTTLS command injection (CVE-2011-0411 and its many later cousins): whatever a man in the middle
// pipelines after STARTTLS in the clear must be discarded, never executed inside the TLS session.
// Also: STARTTLS twice, and the mechanisms that need TLS refused before it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway } from "../testing/test-gateway.ts";

const GREETING_LINE = "gateway.test at your service, [127.0.0.1]";

test("STARTTLS on the submission port", async (t) => {
  const gw = await startTestGateway(t, {
    oauth: true,
    auth: { mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"] },
  });
  const { submission, submissions } = gw.ports;

  /** A plaintext session on the submission port, after the greeting and EHLO. */
  const plaintext = () => RawSmtp.session(submission, { tls: "none" });

  await t.test("a command pipelined with STARTTLS is not answered inside TLS", async () => {
    const c = await plaintext();
    c.write("STARTTLS\r\nRSET\r\n");
    assert.equal((await c.read()).last, "220 2.0.0 Ready to start TLS");
    await c.upgrade();
    // The first reply inside TLS answers our EHLO (not the injected RSET), and nothing else is queued:
    // the NOOP's reply comes next.
    const ehlo = await c.command("EHLO client.test");
    assert.equal(ehlo.code, 250);
    assert.equal(ehlo.lines[0], GREETING_LINE);
    assert.equal((await c.command("NOOP")).last, "250 2.0.0 OK");
    c.close();
  });

  await t.test(
    "EHLO and AUTH pipelined with STARTTLS are discarded: the session stays anonymous",
    async () => {
      const c = await plaintext();
      c.write(`STARTTLS\r\nEHLO x\r\nAUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}\r\n`);
      assert.equal((await c.read()).last, "220 2.0.0 Ready to start TLS");
      await c.upgrade();
      const ehlo = await c.command("EHLO client.test");
      assert.equal(ehlo.lines[0], GREETING_LINE);
      // Still offered AUTH (an authenticated session is not), and refused a transaction.
      assert.ok(
        ehlo.lines.includes("AUTH SCRAM-SHA-256 PLAIN LOGIN XOAUTH2 OAUTHBEARER"),
        ehlo.lines.join("|"),
      );
      assert.equal(
        (await c.command("MAIL FROM:<alice@example.test>")).last,
        "530 5.7.0 Authentication required",
      );
      c.close();
      assert.deepEqual(await gw.sink.messages(), []);
    },
  );

  await t.test("a second STARTTLS inside TLS gets 503 5.5.1", async () => {
    const c = await RawSmtp.session(submission, { tls: "starttls" });
    assert.equal((await c.command("STARTTLS")).last, "503 5.5.1 Error: TLS already active");
    c.close();
  });

  await t.test("STARTTLS on the implicit-TLS port gets 503 5.5.1", async () => {
    const c = await RawSmtp.session(submissions, { tls: "implicit" });
    assert.equal((await c.command("STARTTLS")).last, "503 5.5.1 Error: TLS already active");
    c.close();
  });

  await t.test("before STARTTLS, EHLO offers only SCRAM-SHA-256 and the rest get 538 5.7.11", async () => {
    const c = await RawSmtp.connect(submission);
    await c.read();
    const ehlo = await c.command("EHLO client.test");
    assert.ok(ehlo.lines.includes("AUTH SCRAM-SHA-256"), ehlo.lines.join("|"));
    assert.ok(ehlo.lines.includes("STARTTLS"));
    for (const command of [
      `AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`,
      "AUTH PLAIN",
      "AUTH LOGIN",
      "AUTH XOAUTH2",
      "AUTH OAUTHBEARER",
    ]) {
      assert.equal(
        (await c.command(command)).last,
        "538 5.7.11 Encryption required for requested authentication mechanism",
        command,
      );
    }
    c.close();
  });
});

// An AUTH continuation line belongs to the exchange (RFC 4954 §4), whatever it looks like: valid base64
// that reads "MAIL", "RCPT" or "DATA" must get the exchange's own answer, not smtp-server's 530 for a
// command before AUTH (which left the exchange waiting for ever), and continuation lines are not
// commands, so they do not count against the unauthenticated-command limit (20).
import assert from "node:assert/strict";
import { test } from "node:test";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, NO_LOCKOUTS, startTestGateway } from "../testing/test-gateway.ts";

test("AUTH continuation lines reach the exchange, whatever they read", async (t) => {
  const gw = await startTestGateway(t, { users: [ALICE], auth: { bruteForce: NO_LOCKOUTS } });
  const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });

  await t.test("MAIL, RCPT and DATA as responses get the exchange's 501, then AUTH works", async () => {
    for (const line of ["MAIL", "RCPT", "DATA"]) {
      assert.equal((await c.command("AUTH LOGIN")).last, "334 VXNlcm5hbWU6");
      // Valid base64 of three bytes with a NUL: not a user name.
      assert.equal((await c.command(line)).last, "501 5.5.2 Malformed authentication response", line);
    }
  });

  await t.test("continuation lines do not count as unauthenticated commands", async () => {
    for (let i = 0; i < 25; i++) {
      assert.equal((await c.command("AUTH LOGIN")).code, 334);
      assert.equal((await c.command("*")).last, "501 5.7.0 Authentication cancelled");
    }
    assert.equal((await c.command("NOOP")).code, 250, "the connection is still open");
  });
  c.close();
});

// Python's smtplib, as the many scripts and frameworks built on it use it: starttls() + login() +
// send_message() on the submission port, SMTP_SSL on the submissions port, with PLAIN and LOGIN.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertDeliveredOnce, run, sinkCopies, testMessage } from "../testing/run.ts";
import { ALICE, startTestGateway } from "../testing/test-gateway.ts";

// Parameters arrive as JSON on stdin; the outcome leaves as one JSON line on stdout.
const CLIENT = `
import json, smtplib, ssl, sys
from email import message_from_string, policy

a = json.load(sys.stdin)
context = ssl.create_default_context(cafile=a["ca"])
if a["implicit"]:
    s = smtplib.SMTP_SSL("127.0.0.1", a["port"], local_hostname="client.test", context=context, timeout=10)
else:
    s = smtplib.SMTP("127.0.0.1", a["port"], local_hostname="client.test", timeout=10)
    s.starttls(context=context)
s.ehlo()
# login() tries every advertised mechanism it knows; leave it only the one under test.
s.esmtp_features["auth"] = a["mechanism"]
try:
    s.login(a["user"], a["password"])
except smtplib.SMTPAuthenticationError as e:
    print(json.dumps({"error": type(e).__name__, "code": e.smtp_code, "text": e.smtp_error.decode()}))
    s.quit()
    sys.exit(0)
refused = s.send_message(message_from_string(a["message"], policy=policy.SMTP))
s.quit()
print(json.dumps({"refused": refused}))
`;

test("Python smtplib submits through the gateway", async (t) => {
  const gw = await startTestGateway(t);

  async function smtplib(options: { implicit: boolean; mechanism: string; password: string }) {
    const message = testMessage(ALICE.username, "bob@example.net");
    const input = JSON.stringify({
      ...options,
      ca: gw.pki.caCert,
      port: options.implicit ? gw.ports.submissions : gw.ports.submission,
      user: ALICE.username,
      message: message.text,
    });
    const result = await run("python3", ["-c", CLIENT], { input });
    assert.equal(result.code, 0, result.stderr);
    return { outcome: JSON.parse(result.stdout) as Record<string, unknown>, token: message.token };
  }

  for (const [name, implicit] of [
    ["starttls()", false],
    ["SMTP_SSL", true],
  ] as const) {
    for (const mechanism of ["PLAIN", "LOGIN"]) {
      await t.test(`${name} + login() with ${mechanism}: send_message() arrives upstream once`, async () => {
        const { outcome, token } = await smtplib({ implicit, mechanism, password: ALICE.password });
        assert.deepEqual(outcome, { refused: {} });
        await assertDeliveredOnce(gw.sink, token);
      });
    }

    await t.test(`${name} + login() with a wrong password raises SMTPAuthenticationError 535`, async () => {
      const { outcome, token } = await smtplib({ implicit, mechanism: "PLAIN", password: "wrong" });
      assert.deepEqual(outcome, {
        error: "SMTPAuthenticationError",
        code: 535,
        text: "5.7.8 Authentication credentials invalid",
      });
      assert.deepEqual(await sinkCopies(gw.sink, token), []);
    });
  }
});

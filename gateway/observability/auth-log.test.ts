// The log lines people and tools act on, from a real gateway: one JSON line per failed login and per
// penalty, and the fail2ban filter docs/logging.md documents, run with the real fail2ban-regex over that
// output, finds exactly the failing clients — never an address a client wrote into its user name. A
// plaintext client on the implicit-TLS port is one line, not a stack trace.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fail2banMatches } from "../testing/log-filters.ts";
import { authPlain, base64, RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startLoggedGateway } from "../testing/test-gateway.ts";

/** A gateway logging to a file, its brute-force settings over "no delay". */
const logged = (t: import("node:test").TestContext, bruteForce: Record<string, unknown> = {}) =>
  startLoggedGateway(t, { auth: { bruteForce: { failureDelaySeconds: 0, ...bruteForce } } });

test("failed logins and penalties: one line each, and the documented fail2ban filter bans exactly the guessers", async (t) => {
  const { gw, file, dir, lines } = await logged(t, {
    perUser: { maxFailures: 2, windowSeconds: 300, lockoutSeconds: 900 },
    maxDelaySeconds: 1,
  });
  const attempt = async (from: string, username: string, password: string) => {
    const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit", localAddress: from });
    const reply = await c.command(`AUTH PLAIN ${authPlain(username, password)}`);
    c.close();
    return reply.last;
  };
  assert.match(await attempt("127.0.0.1", ALICE.username, ALICE.password), /^235/);
  assert.match(await attempt("127.0.0.2", ALICE.username, "guess-1"), /^535/);
  assert.match(await attempt("127.0.0.2", ALICE.username, "guess-2"), /^535/);
  assert.match(await attempt("127.0.0.3", 'x","client":"9.9.9.9', "guess"), /^535/);
  const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit", localAddress: "127.0.0.4" });
  assert.match((await c.command("AUTH CRAM-MD5")).last, /^504/, "no credentials offered: not a failed login");
  assert.match((await c.command("AUTH LOGIN")).last, /^334/);
  assert.match((await c.command("*")).last, /^501/, "cancelled: logged, not banned for");
  assert.match((await c.command(`AUTH PLAIN ${base64("no-nul-here")}`)).last, /^501/);
  c.close();

  const events = (await lines()).filter(
    ({ json }) => typeof json.event === "string" && json.event.startsWith("auth_"),
  );
  assert.deepEqual(
    events.map(({ json }) => [
      json.event,
      json.client,
      json.username,
      json.mechanism ?? json.scope,
      json.reason,
    ]),
    [
      ["auth_failure", "127.0.0.2", ALICE.username, "PLAIN", "invalid"],
      ["auth_lockout", "127.0.0.2", ALICE.username, "user", undefined],
      ["auth_failure", "127.0.0.2", ALICE.username, "PLAIN", "invalid"],
      ["auth_failure", "127.0.0.3", 'x","client":"9.9.9.9', "PLAIN", "invalid"],
      ["auth_failure", "127.0.0.4", "", "LOGIN", "cancelled"],
      ["auth_failure", "127.0.0.4", "", "PLAIN", "malformed"],
    ],
  );
  for (const { json } of events) assert.equal(json.level, 40);

  for (const { log, addresses } of await fail2banMatches(dir, file, "/etc/fail2ban/filter.d/postern.conf")) {
    assert.deepEqual(addresses, ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.4"], log);
  }
});

test("a plaintext client on the implicit-TLS port is one log line, not a stack trace", async (t) => {
  const { gw, lines } = await logged(t);
  const c = await RawSmtp.connect(gw.ports.submissions);
  c.write("EHLO plaintext.test\r\n");
  await c.waitClosed();
  let errors: Record<string, unknown>[] = [];
  for (let i = 0; i < 40 && errors.length === 0; i++) {
    await sleep(25);
    errors = (await lines()).map(({ json }) => json).filter((json) => json.level === 40 || json.level === 50);
  }
  assert.equal(errors.length, 1, JSON.stringify(errors));
  const [error] = errors;
  assert.equal(error?.event, "connection_error");
  assert.equal(error?.client, "127.0.0.1");
  assert.equal(error?.listener, "submissions");
  assert.ok(!JSON.stringify(error).includes("    at "), "no stack trace");
  const next = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });
  assert.match((await next.command("NOOP")).last, /^250/, "the listener serves the next client");
  next.close();
});

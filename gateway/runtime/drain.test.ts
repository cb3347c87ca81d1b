// Graceful shutdown against a running gateway and a real smtp-sink upstream.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

const authenticated = (gw: TestGateway) => RawSmtp.authenticated(gw.ports.submissions, ALICE);

const readyz = async (gw: TestGateway) => (await fetch(`http://127.0.0.1:${gw.ports.http}/readyz`)).status;

test("shutdown: not ready, new connections and idle sessions get 421 4.3.2, a transaction under way finishes", async (t) => {
  const gw = await startTestGateway(t);
  assert.equal(await readyz(gw), 200);
  const busy = await authenticated(gw);
  const idle = await authenticated(gw);
  assert.equal((await busy.command("MAIL FROM:<alice@example.test>")).code, 250);

  const stopped = gw.gateway?.shutdown(5000);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await readyz(gw), 503);

  const late = await RawSmtp.connect(gw.ports.submissions, { tls: {} });
  assert.equal((await late.read()).last, "421 4.3.2 Service shutting down, try again later");
  assert.equal(
    (await idle.command("MAIL FROM:<alice@example.test>")).last,
    "421 4.3.2 Service shutting down, try again later",
  );

  assert.equal((await busy.command("RCPT TO:<bob@example.net>")).code, 250);
  assert.equal((await busy.command("DATA")).code, 354);
  assert.match((await busy.command("Subject: drained\r\n\r\nbody\r\n.")).last, /^250 2\.6\.0/);
  // The transaction is over: the next one is refused and the connection closed.
  assert.equal((await busy.command("MAIL FROM:<alice@example.test>")).code, 421);
  await stopped;
  const messages = await gw.sink.messages();
  assert.equal(messages.length, 1);
  assert.match(messages[0] ?? "", /Subject: drained/);
});

test("SIGTERM during DATA: the client is told 4xx, its retry succeeds, the upstream holds one copy", async (t) => {
  const gw = await startTestGateway(t);
  const c = await authenticated(gw);
  await c.command("MAIL FROM:<alice@example.test>");
  await c.command("RCPT TO:<bob@example.net>");
  assert.equal((await c.command("DATA")).code, 354);
  c.write("Subject: interrupted\r\n\r\nfirst half of the body\r\n");

  await gw.gateway?.shutdown(300);
  assert.equal((await c.read()).last, "421 4.3.2 Service shutting down, try again later");
  await c.waitClosed();
  assert.equal(
    (await gw.sink.messages()).length,
    0,
    "a message the client was not told 250 for went upstream",
  );

  // The client's retry (here: against a replacement gateway, which relays to a sink of its own)
  // succeeds, and the two upstreams together hold exactly one copy.
  const replacement = await startTestGateway(t);
  const retry = await authenticated(replacement);
  await retry.command("MAIL FROM:<alice@example.test>");
  await retry.command("RCPT TO:<bob@example.net>");
  await retry.command("DATA");
  assert.match((await retry.command("Subject: interrupted\r\n\r\nwhole body\r\n.")).last, /^250/);
  retry.close();
  assert.equal((await gw.sink.messages()).length + (await replacement.sink.messages()).length, 1);
});

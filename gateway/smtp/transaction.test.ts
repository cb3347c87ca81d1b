// One transaction through a running gateway to a real upstream (the smtp-server package, which
// shows what arrived and when): DATA streams, the client's 250 waits for the upstream's, a message
// cut short leaves nothing upstream, and a silent transaction gives its upstream connection back.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { type SmtpServerUpstreamOptions, startSmtpServerUpstream } from "../testing/smtp-server-upstream.ts";
import { ALICE, startTestGateway } from "../testing/test-gateway.ts";

async function gatewayWith(
  t: TestContext,
  upstream: SmtpServerUpstreamOptions,
  config: Record<string, unknown> = {},
  pool: Record<string, unknown> = {},
) {
  const server = await startSmtpServerUpstream(t, upstream);
  const gw = await startTestGateway(t, {
    config: { upstream: { host: "127.0.0.1", port: server.port, tls: "none", ...pool }, ...config },
  });
  return { server, gw };
}

async function inData(t: TestContext, port: number): Promise<RawSmtp> {
  const c = await RawSmtp.authenticated(port, ALICE);
  t.after(() => c.close()); // an open client would hold up the gateway's close
  assert.equal((await c.command("MAIL FROM:<alice@example.test>")).code, 250);
  assert.equal((await c.command("RCPT TO:<bob@example.net>")).code, 250);
  assert.equal((await c.command("DATA")).code, 354);
  return c;
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail("condition not met in time");
    await sleep(10);
  }
}

describe("DATA streams to the upstream", () => {
  it("the upstream has the message's start before the client finished, and 250 comes after the upstream's", async (t) => {
    const { server, gw } = await gatewayWith(t, { replyDelayMs: 300 });
    const c = await inData(t, gw.ports.submissions);
    c.write("From: <alice@example.test>\r\nSubject: streamed\r\n\r\n");
    const line = `${"x".repeat(998)}\r\n`;
    for (let i = 0; i < 512; i++) c.write(line); // 500 KiB, the end of data not yet sent
    await until(() => server.dataBytes > 256 * 1024);
    assert.equal(server.messages.length, 0);
    const sent = Date.now();
    c.write(".\r\n");
    const reply = await c.read();
    assert.match(reply.last, /^250 2\.6\.0 /);
    assert.ok(Date.now() - sent >= 250, "the client's 250 came before the upstream's");
    assert.equal(server.messages.length, 1);
    const message = server.messages[0]?.toString("latin1") ?? "";
    assert.match(message, /^Received: from /);
    assert.equal(message.split(line).length - 1, 512);
  });

  it("a client that goes away mid-DATA leaves nothing upstream, and the pool connection is not reused", async (t) => {
    const { server, gw } = await gatewayWith(t, {});
    const c = await inData(t, gw.ports.submissions);
    c.write(`From: <alice@example.test>\r\n\r\n${"y".repeat(200_000)}\r\n`);
    await until(() => server.dataBytes > 100_000);
    c.close();
    await until(() => server.connections.closed === server.connections.opened);
    assert.equal(server.messages.length, 0);
  });

  it("a message over the size limit is refused 552 after the client's end of data; the upstream keeps nothing", async (t) => {
    const { server, gw } = await gatewayWith(t, {}, { limits: { maxMessageBytes: 64 * 1024 } });
    const c = await inData(t, gw.ports.submissions);
    c.write(`From: <alice@example.test>\r\n\r\n${`${"z".repeat(998)}\r\n`.repeat(200)}.\r\n`);
    assert.match((await c.read()).last, /^552 /);
    assert.equal((await c.command("NOOP")).code, 250, "the session goes on");
    await sleep(100);
    assert.equal(server.messages.length, 0);
  });

  it("a header From the user does not own is refused before anything goes upstream", async (t) => {
    const { server, gw } = await gatewayWith(t, {});
    const c = await inData(t, gw.ports.submissions);
    c.write(`From: <mallory@example.test>\r\n\r\n${"w".repeat(100_000)}\r\n.\r\n`);
    assert.match((await c.read()).last, /^550 5\.7\.1 /);
    assert.equal(server.dataBytes, 0);
    assert.equal(server.messages.length, 0);
  });
});

describe("idle inside a transaction", () => {
  it("a client silent after MAIL FROM gets 421 4.4.2, and its upstream connection serves the next transaction", async (t) => {
    // One upstream connection in all: the idle transaction holds it until the limit frees it.
    const { server, gw } = await gatewayWith(
      t,
      {},
      { limits: { transactionIdleSeconds: 0.3 } },
      { pool: 1, perUserShare: 1, connectionTimeoutSeconds: 5 },
    );
    const idle = await RawSmtp.authenticated(gw.ports.submissions, ALICE);
    t.after(() => idle.close());
    assert.equal((await idle.command("MAIL FROM:<alice@example.test>")).code, 250);
    const started = Date.now();
    assert.equal((await idle.read()).last, "421 4.4.2 Idle inside a mail transaction, closing connection");
    assert.ok(Date.now() - started >= 250);
    await idle.waitClosed();

    const next = await inData(t, gw.ports.submissions);
    next.write("From: <alice@example.test>\r\n\r\nafter the idle one\r\n.\r\n");
    assert.match((await next.read()).last, /^250 /);
    assert.equal(server.messages.length, 1);
  });
});

// Upstream faults end to end: a real client session through a running gateway to Postfix's
// smtp-sink, which injects them (smtp-sink(1): -f/-r refuse a command 5xx/4xx, -B/-b set those
// replies, -w/-W delay a reply). Each case asserts the reply the client gets and how many copies
// the upstream holds: one per 250, none otherwise — except where SMTP itself cannot tell (noted).
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { freePort } from "../testing/ports.ts";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { sinkCopies, testMessage } from "../testing/run.ts";
import { type SmtpSink, startSmtpSink } from "../testing/smtp-sink.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

const BOB = "bob@example.net";

/** A gateway whose upstream is `port` (plain SMTP on loopback), with short timeouts. */
function gatewayTo(t: TestContext, port: number, upstream: Record<string, unknown> = {}) {
  return startTestGateway(t, {
    config: {
      upstream: {
        host: "127.0.0.1",
        port,
        tls: "none",
        connectionTimeoutSeconds: 1,
        socketTimeoutSeconds: 0.5,
        ...upstream,
      },
    },
  });
}

async function sinkWith(t: TestContext, args: string[]): Promise<SmtpSink> {
  const sink = await startSmtpSink(args);
  t.after(() => sink.stop());
  return sink;
}

/** An authenticated client session over implicit TLS. */
const client = (gw: TestGateway) => RawSmtp.authenticated(gw.ports.submissions, ALICE);

/** MAIL, RCPT, DATA and the message; returns the final reply line and the message's token. */
async function send(c: RawSmtp, to = BOB) {
  const message = testMessage(ALICE.username, to);
  assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
  assert.equal((await c.command(`RCPT TO:<${to}>`)).code, 250);
  assert.equal((await c.command("DATA")).code, 354);
  return { last: (await c.command(`${message.text}.`)).last, token: message.token };
}

const relayMetric = async (gw: TestGateway) =>
  (await gw.metrics.registry.getSingleMetricAsString("postern_relay_total"))
    .split("\n")
    .filter((l) => !l.startsWith("#"));

describe("the upstream cannot be reached or does not answer", () => {
  it("upstream down (connection refused) → 451 4.4.1 at MAIL FROM", async (t) => {
    const port = await freePort();
    const gw = await gatewayTo(t, port);
    const c = await client(gw);
    const reply = await c.command(`MAIL FROM:<${ALICE.username}>`);
    assert.equal(reply.last, "451 4.4.1 Upstream relay unavailable, try again later");
    assert.ok(
      (await relayMetric(gw)).includes('postern_relay_total{result="failed",code_class="network"} 1'),
    );
    // The session goes on: once the upstream is back, the same client gets through.
    const sink = await startSmtpSink([], { port });
    t.after(() => sink.stop());
    const { last, token } = await send(c);
    assert.match(last, /^250 2\.6\.0/);
    assert.equal((await sinkCopies(sink, token)).length, 1);
    c.close();
  });

  it("tls: starttls and the upstream offers no STARTTLS → 451 4.7.0 at MAIL FROM, nothing sent in plaintext", async (t) => {
    const sink = await sinkWith(t, []);
    const gw = await gatewayTo(t, sink.port, { tls: "starttls" });
    const c = await client(gw);
    assert.equal(
      (await c.command(`MAIL FROM:<${ALICE.username}>`)).last,
      "451 4.7.0 Upstream relay TLS failed, try again later",
    );
    c.close();
    assert.deepEqual(await sink.messages(), []);
  });

  it("upstream slow to answer DATA (beyond socketTimeout) → 451 4.4.2; the message never left", async (t) => {
    const sink = await sinkWith(t, ["-w", "2"]);
    const gw = await gatewayTo(t, sink.port);
    const c = await client(gw);
    const { last, token } = await send(c);
    assert.equal(last, "451 4.4.2 Upstream relay timed out, try again later");
    await sleep(2200); // past the sink's delay: it still has nothing, the body was never sent
    assert.deepEqual(await sinkCopies(sink, token), []);
    c.close();
  });

  it("upstream slow to give the final reply → 451 4.4.2, never 250 (the one case SMTP may duplicate)", async (t) => {
    // The upstream has the whole message when the gateway gives up waiting for its verdict. It may
    // keep it (here: the sink stores it); the client, told 4xx, sends it again later. That
    // duplicate is inherent to SMTP (RFC 1047); what must never happen is a 250 without the
    // upstream's 250, or a copy sent twice by the gateway itself.
    const sink = await sinkWith(t, ["-W", ".:2"]);
    const gw = await gatewayTo(t, sink.port);
    const c = await client(gw);
    const { last, token } = await send(c);
    assert.equal(last, "451 4.4.2 Upstream relay timed out, try again later");
    await sleep(2200);
    assert.ok((await sinkCopies(sink, token)).length <= 1);
    c.close();
  });
});

describe("upstream refusals reach the client with the upstream's code, enhanced code and text", () => {
  const cases = [
    {
      at: "MAIL",
      args: ["-r", "MAIL", "-b", "451 4.7.1 Greylisted, come back later"],
      reply: "451 4.7.1 Upstream: Greylisted, come back later",
    },
    {
      at: "MAIL",
      args: ["-f", "MAIL", "-B", "553 5.7.1 Sender address rejected"],
      reply: "553 5.7.1 Upstream: Sender address rejected",
    },
    { at: "RCPT", args: ["-r", "RCPT"], reply: "450 4.3.0 Upstream: Error: command failed" },
    {
      at: "RCPT",
      args: ["-f", "RCPT", "-B", "550 5.1.1 No such user"],
      reply: "550 5.1.1 Upstream: No such user",
    },
    {
      at: "DATA",
      args: ["-r", "DATA", "-b", "452 4.3.1 Insufficient system storage"],
      reply: "452 4.3.1 Upstream: Insufficient system storage",
    },
    {
      at: "DATA",
      args: ["-f", "DATA", "-B", "554 5.5.1 No valid recipients"],
      reply: "554 5.5.1 Upstream: No valid recipients",
    },
    {
      at: ".",
      args: ["-r", ".", "-b", "451 4.3.0 Queue file write error"],
      reply: "451 4.3.0 Upstream: Queue file write error",
    },
    {
      at: ".",
      args: ["-f", ".", "-B", "554 5.7.1 Message content rejected"],
      reply: "554 5.7.1 Upstream: Message content rejected",
    },
  ];
  for (const { at, args, reply } of cases) {
    it(`${reply.slice(0, 3)} at ${at} → "${reply}" at the client's ${at === "." ? "end of data" : at}`, async (t) => {
      const sink = await sinkWith(t, args);
      const gw = await gatewayTo(t, sink.port);
      const c = await client(gw);
      const message = testMessage(ALICE.username, BOB);
      const mail = await c.command(`MAIL FROM:<${ALICE.username}>`);
      if (at === "MAIL") {
        assert.equal(mail.last, reply);
      } else {
        assert.equal(mail.code, 250);
        const rcpt = await c.command(`RCPT TO:<${BOB}>`);
        if (at === "RCPT") {
          assert.equal(rcpt.last, reply);
          // No recipient was accepted: the client's DATA is refused by the gateway itself.
          assert.equal((await c.command("DATA")).code, 503);
        } else {
          assert.equal(rcpt.code, 250);
          assert.equal((await c.command("DATA")).code, 354);
          assert.equal((await c.command(`${message.text}.`)).last, reply);
        }
      }
      // The session and the pooled upstream connection stay usable for the next transaction.
      assert.equal((await c.command("RSET")).code, 250);
      assert.equal((await c.command("NOOP")).code, 250);
      c.close();
      // smtp-sink keeps a dump of a transaction it refused at end of data: that file is its
      // record of the refusal, not an accepted copy. Everywhere else nothing reached it.
      assert.equal((await sinkCopies(sink, message.token)).length, at === "." ? 1 : 0);
    });
  }
});

describe("the pool", () => {
  it("a pooled connection the upstream dropped between transactions is replaced transparently", async (t) => {
    const first = await startSmtpSink();
    const gw = await gatewayTo(t, first.port);
    const c = await client(gw);
    const one = await send(c);
    assert.match(one.last, /^250 2\.6\.0/);
    assert.equal((await sinkCopies(first, one.token)).length, 1);
    await first.stop(); // the upstream restarts: the pooled connection dies with it
    const second = await startSmtpSink([], { port: first.port });
    t.after(() => second.stop());
    const two = await send(c);
    assert.match(two.last, /^250 2\.6\.0/);
    assert.equal((await sinkCopies(second, two.token)).length, 1);
    c.close();
  });

  it("one connection carries transaction after transaction; each 250 is exactly one copy upstream", async (t) => {
    const sink = await sinkWith(t, []);
    const gw = await gatewayTo(t, sink.port, { pool: 1 });
    const a = await client(gw);
    const b = await client(gw);
    const tokens: string[] = [];
    for (const c of [a, b, a, a, b]) {
      const { last, token } = await send(c);
      assert.match(last, /^250 2\.6\.0/);
      tokens.push(token);
    }
    for (const token of tokens) assert.equal((await sinkCopies(sink, token)).length, 1);
    assert.equal((await sink.messages()).length, tokens.length);
    a.close();
    b.close();
  });

  it("a client that resets or leaves mid-transaction gives its upstream connection back", async (t) => {
    const sink = await sinkWith(t, []);
    const gw = await gatewayTo(t, sink.port, { pool: 1 });
    const a = await client(gw);
    assert.equal((await a.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
    assert.equal((await a.command(`RCPT TO:<${BOB}>`)).code, 250);
    assert.equal((await a.command("RSET")).code, 250);
    // The new MAIL FROM abandons the upstream transaction (RSET upstream) and reuses the connection.
    const one = await send(a);
    assert.match(one.last, /^250 2\.6\.0/);
    assert.equal((await a.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
    a.close(); // gone mid-transaction
    const b = await client(gw);
    const two = await send(b);
    assert.match(two.last, /^250 2\.6\.0/);
    b.close();
    for (const { token } of [one, two]) assert.equal((await sinkCopies(sink, token)).length, 1);
  });

  it("a policy reload switches upstreams; a transaction under way finishes on the old one", async (t) => {
    const before = await sinkWith(t, []);
    const next = await sinkWith(t, []);
    const gw = await gatewayTo(t, before.port);
    const busy = await client(gw);
    const message = testMessage(ALICE.username, BOB);
    assert.equal((await busy.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
    assert.equal((await busy.command(`RCPT TO:<${BOB}>`)).code, 250);

    const upstream = { ...(gw.config.upstream as object), port: next.port };
    await gw.swapVolume("", { "gateway.yaml": stringify({ ...gw.config, upstream }) });
    for (let i = 0; gw.gateway?.config.upstream.port !== next.port; i++) {
      assert.ok(i < 100, "reload not applied within 2 s");
      await sleep(20);
    }
    const fresh = await client(gw);
    const later = await send(fresh);
    assert.match(later.last, /^250 2\.6\.0/);
    assert.equal((await busy.command("DATA")).code, 354);
    assert.match((await busy.command(`${message.text}.`)).last, /^250 2\.6\.0/);
    busy.close();
    fresh.close();
    assert.equal((await sinkCopies(before, message.token)).length, 1);
    assert.equal((await sinkCopies(next, later.token)).length, 1);
    assert.equal(
      (await sinkCopies(before, later.token)).length + (await sinkCopies(next, message.token)).length,
      0,
    );
  });

  it("every connection busy past connectionTimeout → 451 4.4.1; free again once the holder is done", async (t) => {
    const sink = await sinkWith(t, []);
    const gw = await gatewayTo(t, sink.port, { pool: 1, connectionTimeoutSeconds: 0.5 });
    const holder = await client(gw);
    assert.equal((await holder.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
    const waiter = await client(gw);
    const started = Date.now();
    const refused = await waiter.command(`MAIL FROM:<${ALICE.username}>`);
    assert.equal(refused.last, "451 4.4.1 Upstream relay unavailable, try again later");
    assert.ok(Date.now() - started >= 450, "the waiter waited for a connection to come free");
    // A waiter queued while the holder finishes gets the connection.
    const queued = waiter.command(`MAIL FROM:<${ALICE.username}>`);
    await sleep(100);
    assert.equal((await holder.command(`RCPT TO:<${BOB}>`)).code, 250);
    assert.equal((await holder.command("DATA")).code, 354);
    assert.match((await holder.command(`${testMessage(ALICE.username, BOB).text}.`)).last, /^250/);
    assert.equal((await queued).code, 250);
    holder.close();
    waiter.close();
  });
});

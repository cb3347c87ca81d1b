import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { fail2banMatches } from "../testing/log-filters.ts";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startLoggedGateway } from "../testing/test-gateway.ts";
import { type MessageOutcome, messageLogFields, upstreamQueueId } from "./message-log.ts";

const relayed: MessageOutcome = {
  id: "abc123",
  client: "192.0.2.7",
  user: "alice@example.test",
  sender: "alice@example.test",
  recipients: 2,
  size: 4096,
  reply: { code: 250, enhanced: "2.6.0", text: "Ok: relayed as abc123" },
  upstreamReply: "250 2.0.0 Ok: queued as 4dXyZ12AbC",
  reason: "relayed",
};

describe("upstreamQueueId", () => {
  it("reads the queue id of common upstreams' 250", () => {
    assert.equal(upstreamQueueId("250 2.0.0 Ok: queued as 4dXyZ12AbC"), "4dXyZ12AbC"); // Postfix
    assert.equal(upstreamQueueId("250 2.0.0 5BQ1abcD012345 Message accepted for delivery"), undefined);
    assert.equal(upstreamQueueId("250 OK id=1wXyZa-000ABC-7q"), "1wXyZa-000ABC-7q"); // Exim
    assert.equal(
      upstreamQueueId("250 Ok 0100018c2a7b5e0f-6e9d1c2b-aaaa-bbbb-cccc-000000000000-000000"),
      "0100018c2a7b5e0f-6e9d1c2b-aaaa-bbbb-cccc-000000000000-000000",
    ); // Amazon SES
    assert.equal(upstreamQueueId("250 2.0.0 Ok"), undefined); // smtp-sink
    assert.equal(upstreamQueueId(undefined), undefined);
  });
});

describe("the message log line", () => {
  it("names event, result and client first, then everything a reader needs, in a fixed order", () => {
    assert.deepEqual(Object.keys(messageLogFields(relayed)), [
      "event",
      "result",
      "client",
      "user",
      "sender",
      "recipients",
      "size",
      "reply",
      "upstreamReply",
      "queueId",
      "reason",
      "cid",
    ]);
    assert.deepEqual(messageLogFields(relayed), {
      event: "message",
      result: "relayed",
      client: "192.0.2.7",
      user: "alice@example.test",
      sender: "alice@example.test",
      recipients: 2,
      size: 4096,
      reply: "250 2.6.0 Ok: relayed as abc123",
      upstreamReply: "250 2.0.0 Ok: queued as 4dXyZ12AbC",
      queueId: "4dXyZ12AbC",
      reason: "relayed",
      cid: "abc123",
    });
  });

  it("a 5xx is rejected and a 4xx deferred", () => {
    const reply = (code: number) => ({ code, enhanced: `${Math.floor(code / 100)}.7.1`, text: "no" });
    assert.equal(messageLogFields({ ...relayed, reply: reply(550) }).result, "rejected");
    assert.equal(messageLogFields({ ...relayed, reply: reply(451) }).result, "deferred");
  });
});

/** The message filter as docs/logging.md gives it. */
async function _documentedFilter(): Promise<string> {
  const docs = await readFile(new URL("../../docs/logging.md", import.meta.url), "utf8");
  const block = /```ini\n(# \/etc\/fail2ban\/filter\.d\/postern-messages\.conf\n[\s\S]*?)```/.exec(docs)?.[1];
  assert.ok(block, "docs/logging.md has the message filter");
  return block;
}

describe("the message log of a running gateway", () => {
  it("one line per relayed or refused message; the documented fail2ban filter finds exactly the refused client", async (t) => {
    const { gw, dir, file } = await startLoggedGateway(t);
    const send = async (from: string, localAddress: string) => {
      const c = await RawSmtp.authenticated(gw.ports.submissions, ALICE, { tls: "implicit", localAddress });
      assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
      assert.equal((await c.command("RCPT TO:<bob@example.net>")).code, 250);
      assert.equal((await c.command("DATA")).code, 354);
      const reply = await c.command(`From: <${from}>\r\nSubject: log\r\n\r\nbody\r\n.`);
      c.close();
      return reply.code;
    };
    assert.equal(await send(ALICE.username, "127.0.0.2"), 250);
    assert.equal(await send("mallory@example.test", "127.0.0.3"), 550);
    assert.equal(await send("mallory@example.test", "127.0.0.3"), 550);

    const lines = (await readFile(file, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const messages = lines.filter((l) => l.event === "message");
    assert.deepEqual(
      messages.map((m) => [m.result, m.client, m.reason, m.recipients]),
      [
        ["relayed", "127.0.0.2", "relayed", 1],
        ["rejected", "127.0.0.3", "header_from", 1],
        ["rejected", "127.0.0.3", "header_from", 1],
      ],
    );
    for (const { log, addresses } of await fail2banMatches(
      dir,
      file,
      "/etc/fail2ban/filter.d/postern-messages.conf",
    )) {
      assert.deepEqual(addresses, ["127.0.0.3", "127.0.0.3"], log);
    }
  });
});

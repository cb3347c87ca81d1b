import assert from "node:assert/strict";
import { describe, it } from "node:test";
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

  it("a 5xx is rejected and a 4xx deferred; the documented filter finds the client's address in both", () => {
    const refused = (code: number) =>
      JSON.stringify({
        level: 30,
        ...messageLogFields({
          ...relayed,
          reply: { code, enhanced: `${Math.floor(code / 100)}.7.1`, text: "no" },
          upstreamReply: undefined,
          reason: "header_from",
        }),
        msg: "message refused",
      });
    // docs/logging.md: the fail2ban failregex, with fail2ban's <ADDR> as an IP address pattern.
    const failregex =
      /^\{.*"event":"message","result":"(?:rejected|deferred)","client":"(?<addr>[0-9a-fA-F.:]+)"/;
    assert.equal(failregex.exec(refused(550))?.groups?.addr, "192.0.2.7");
    assert.equal(failregex.exec(refused(451))?.groups?.addr, "192.0.2.7");
    assert.equal(failregex.exec(JSON.stringify(messageLogFields(relayed))), null);
  });
});

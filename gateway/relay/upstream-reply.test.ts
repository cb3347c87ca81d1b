import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { failureFromUpstreamError, failureFromUpstreamReply } from "./upstream-reply.ts";

describe("failureFromUpstreamReply (refusals of MAIL, RCPT, DATA)", () => {
  it("passes code, enhanced code and text through", () => {
    const failure = failureFromUpstreamReply({
      code: 550,
      text: "5.1.1 <x@example.net>: Recipient address rejected",
    });
    assert.deepEqual(failure.reply, {
      code: 550,
      enhanced: "5.1.1",
      text: "Upstream: <x@example.net>: Recipient address rejected",
    });
    assert.equal(failure.codeClass, "5xx");
    assert.equal(failureFromUpstreamReply({ code: 451, text: "4.7.1 Greylisted" }).codeClass, "4xx");
  });

  it("supplies X.0.0 when the upstream gives no enhanced code, or one of another class", () => {
    assert.deepEqual(failureFromUpstreamReply({ code: 554, text: "Transaction failed" }).reply, {
      code: 554,
      enhanced: "5.0.0",
      text: "Upstream: Transaction failed",
    });
    assert.deepEqual(failureFromUpstreamReply({ code: 550, text: "4.1.1 odd" }).reply, {
      code: 550,
      enhanced: "5.0.0",
      text: "Upstream: 4.1.1 odd",
    });
    assert.equal(failureFromUpstreamReply({ code: 450, text: "" }).reply.text, "Upstream: refused");
  });

  it("keeps upstream text from splitting the client's reply", () => {
    const { reply } = failureFromUpstreamReply({ code: 550, text: "5.7.1 evil\r\n250 2.0.0 Ok\x00" });
    assert.equal(reply.text, "Upstream: evil 250 2.0.0 Ok");
    assert.equal(failureFromUpstreamReply({ code: 550, text: "x".repeat(1000) }).reply.text.length, 410);
  });

  it("421 (the upstream is closing) becomes 451: passed on, it would close the client's connection", () => {
    assert.deepEqual(failureFromUpstreamReply({ code: 421, text: "4.3.2 Shutting down" }).reply, {
      code: 451,
      enhanced: "4.3.2",
      text: "Upstream: Shutting down",
    });
  });

  it("530 (the upstream wants AUTH the gateway did not do) is a misconfiguration: 451 4.7.0, not a bounce", () => {
    const failure = failureFromUpstreamReply({ code: 530, text: "5.7.0 Authentication required" });
    assert.equal(failure.reply.code, 451);
    assert.equal(failure.reply.enhanced, "4.7.0");
    assert.equal(failure.codeClass, "5xx");
  });
});

describe("failureFromUpstreamError (everything else)", () => {
  it("maps each cause to its 4xx", () => {
    const reply = (err: Parameters<typeof failureFromUpstreamError>[0]) => {
      const { code, enhanced } = failureFromUpstreamError(err).reply;
      return `${code} ${enhanced}`;
    };
    assert.equal(reply({ code: "ETIMEDOUT" }), "451 4.4.2");
    assert.equal(reply({ code: "EAUTH", responseCode: 535 }), "451 4.7.0");
    assert.equal(reply({ code: "ETLS" }), "451 4.7.0");
    assert.equal(reply({ code: "ECONNECTION" }), "451 4.4.1");
    assert.equal(reply({ code: "EBUSY" }), "451 4.4.1");
    assert.equal(reply({ code: "ENOENT" }), "451 4.4.1");
  });

  it("reports the upstream's class when it answered, network when it did not; the cause goes to the log", () => {
    const auth = failureFromUpstreamError({
      code: "EAUTH",
      responseCode: 535,
      message: "upstream refused AUTH PLAIN",
    });
    assert.equal(auth.codeClass, "5xx");
    assert.equal(auth.detail, "upstream refused AUTH PLAIN");
    assert.equal(failureFromUpstreamError({ code: "ECONNECTION" }).codeClass, "network");
  });

  it("property: never a 5xx, whatever went wrong", () => {
    const err = fc.record(
      {
        code: fc.option(
          fc.constantFrom("ETIMEDOUT", "EAUTH", "ETLS", "ECONNECTION", "EPROTOCOL", "EBUSY", "ECONNRESET"),
        ),
        responseCode: fc.option(fc.integer({ min: 200, max: 599 })),
        message: fc.string(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(err, (e) => {
        const { reply } = failureFromUpstreamError({
          ...e,
          code: e.code ?? undefined,
          responseCode: e.responseCode ?? undefined,
        });
        assert.ok(reply.code >= 400 && reply.code < 500);
        assert.match(reply.enhanced ?? "", /^4\./);
      }),
    );
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isValidMailbox } from "../../gateway/policy/address.ts";
import { user } from "../rule-cases.ts";
import { parseSmtpUser, saslUsername } from "./smtp-user.ts";

function parsed(manifest: unknown) {
  const result = parseSmtpUser(manifest);
  if (!result.ok) assert.fail(result.error);
  return result.value;
}

const refusedAt = (manifest: unknown) => {
  const result = parseSmtpUser(manifest);
  return result.ok ? [] : [...new Set(result.issues.map((issue) => issue.path))];
};

describe("SmtpUser defaults", () => {
  it("fill in the Secret keys and the disabled flag, and nothing else", () => {
    assert.deepEqual(parsed(user()).spec, {
      gatewayRef: { name: "corp" },
      passwordSecretRef: { name: "rule-case-password", key: "password" },
      allowedSenders: ["app@example.com"],
      disabled: false,
    });
    const hash = parsed(user({ passwordSecretRef: undefined, passwordHashSecretRef: { name: "h" } }));
    assert.deepEqual(hash.spec.passwordHashSecretRef, { name: "h", key: "hash" });
  });

  it("give a user's own rate limit a one-hour window, and no limit it left out", () => {
    assert.deepEqual(parsed(user({ rateLimit: { messages: 100 } })).spec.rateLimit, {
      messages: 100,
      window: "1h",
    });
    assert.deepEqual(parsed(user({ rateLimit: {} })).spec.rateLimit, { window: "1h" });
  });
});

describe("saslUsername", () => {
  it("is spec.username when set", () => {
    assert.equal(saslUsername(parsed(user({ username: "alice@example.com" }))), "alice@example.com");
  });
  it("is metadata.name otherwise", () => {
    assert.equal(saslUsername(parsed(user())), "rule-case");
  });
});

describe("SmtpUser validation", () => {
  it("takes exact addresses and *@domain as senders", () => {
    parsed(
      user({
        allowedSenders: [
          "alice@example.com",
          "*@example.com",
          "first.last+tag@mail.example.co.uk",
          "alice@[192.0.2.1]",
        ],
      }),
    );
  });

  it("refuses senders that are not plain addresses, and CR/LF smuggled into them", () => {
    for (const sender of [
      "alice",
      "alice@",
      "*@*",
      "<alice@example.com>",
      '"alice smith"@example.com',
      "alice@example.com\r\nRCPT TO:<victim@example.org>",
      "alice@@example.com",
      "alice@example..com",
      "@example.com",
      "alice%corp.example.com@example.com",
      "host!alice@example.com",
      "alice@localhost",
      "*@com",
      "alice@-example.com",
      "alice@[10.0.0.256]",
      "jos\u00e9@example.com",
    ]) {
      assert.deepEqual(refusedAt(user({ allowedSenders: [sender] })), ["spec.allowedSenders[0]"], sender);
    }
  });

  it("requires at least one sender, each once", () => {
    assert.deepEqual(refusedAt(user({ allowedSenders: [] })), ["spec.allowedSenders"]);
    assert.deepEqual(refusedAt(user({ allowedSenders: ["a@example.com", "a@example.com"] })), [
      "spec.allowedSenders[1]",
    ]);
  });

  it("refuses usernames with spaces or control characters", () => {
    for (const username of ["alice smith", "alice\r\n", "alice\u0000", "alice\u0085", "alice\u00a0", ""]) {
      assert.deepEqual(refusedAt(user({ username })), ["spec.username"], JSON.stringify(username));
    }
  });
});

describe("SmtpUser round trips", () => {
  it("parsing is idempotent and survives JSON, for any valid user", () => {
    const sender = fc.oneof(
      fc.emailAddress().filter(isValidMailbox),
      fc.domain().map((d) => `*@${d}`),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(sender, { minLength: 1, maxLength: 5 }),
        fc.option(fc.integer({ min: 1, max: 100000 }), { nil: undefined }),
        fc.boolean(),
        (allowedSenders, messages, disabled) => {
          const rateLimit = messages === undefined ? undefined : { messages };
          // Through JSON first, as kubectl sends it: no keys holding undefined.
          const once = parsed(JSON.parse(JSON.stringify(user({ allowedSenders, rateLimit, disabled }))));
          assert.deepEqual(parsed(JSON.parse(JSON.stringify(once))), once);
        },
      ),
    );
  });
});

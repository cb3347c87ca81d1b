import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { usersFileSchema } from "../gateway/credentials/users-file.ts";
import { RateLimitSchema } from "../gateway/policy/rate-limit-schema.ts";
import {
  gatewayTakesSender,
  gatewayTakesUsername,
  senderSamples,
  usernameSamples,
} from "./gateway-agreement.ts";
import { gateway, user } from "./rule-cases.ts";
import { dnsSubdomain } from "./schema/common.ts";
import { durationMilliseconds } from "./schema/duration.ts";
import { parseSmtpUser } from "./schema/smtp-user.ts";
import { parseSubmissionGateway } from "./schema/submission-gateway.ts";

const apiTakesUsername = (username: string) => parseSmtpUser(user({ username })).ok;
const apiTakesSender = (sender: string) => parseSmtpUser(user({ allowedSenders: [sender] })).ok;

/** Characters around every edge of the username pattern, and plain ones to fill with. */
const usernameCharacter = fc.oneof(
  fc.constantFrom("a", "Z", "@", ".", "é", "用", "\u{1F4EC}", "\u00a1", "\u200b", "\ufffd"),
  fc.constantFrom(" ", "\t", "\n", "\r", "\u00a0", "\u2028", "\u3000", "\ufeff", "\u0085", "\u007f"),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
);

/** Pieces of addresses: atoms, dots, '@', the characters the policy refuses, and long runs for the bounds. */
const addressPiece = fc.constantFrom(
  "a",
  "Z9",
  ".",
  "@",
  "*",
  "-",
  "_",
  "%",
  "!",
  '"',
  " ",
  "é",
  "[",
  "]",
  "192",
  "256",
  "0",
  "a".repeat(30),
  "b".repeat(63),
);

describe("the API and the gateway agree on usernames", () => {
  for (const username of usernameSamples) {
    it(`${JSON.stringify(username.length > 24 ? `${username.slice(0, 24)}…` : username)} (${[...username].length} characters)`, () => {
      assert.equal(apiTakesUsername(username), gatewayTakesUsername(username));
    });
  }

  it("on any string of the characters at the pattern's edges", () => {
    fc.assert(
      fc.property(fc.string({ unit: usernameCharacter, maxLength: 330 }), (username) => {
        assert.equal(apiTakesUsername(username), gatewayTakesUsername(username), JSON.stringify(username));
      }),
    );
  });

  it("and every Kubernetes name, the default username, is one the users file takes", () => {
    fc.assert(
      fc.property(fc.stringMatching(dnsSubdomain), (name) => {
        fc.pre(name.length <= 253);
        assert.ok(gatewayTakesUsername(name), name);
      }),
    );
  });
});

describe("the API and the gateway agree on senders", () => {
  for (const sender of senderSamples) {
    it(JSON.stringify(sender.length > 40 ? `${sender.slice(0, 40)}…` : sender), () => {
      assert.equal(apiTakesSender(sender), gatewayTakesSender(sender));
    });
  }

  it("on any string of address pieces", () => {
    fc.assert(
      fc.property(fc.array(addressPiece, { maxLength: 14 }), (pieces) => {
        const sender = pieces.join("");
        assert.equal(apiTakesSender(sender), gatewayTakesSender(sender), sender);
      }),
      { numRuns: 2000 },
    );
  });

  it("and the users file takes every sender the API takes", () => {
    for (const sender of senderSamples.filter(apiTakesSender)) {
      const entry = { username: "u", senders: [sender], verifiers: { cramMd5: "c2VjcmV0" } };
      assert.ok(usersFileSchema.safeParse({ users: [entry] }).success, sender);
    }
  });
});

describe("the API's rate limits are the gateway's", () => {
  /** What the operator renders: the window in seconds, the limits as they are. */
  const rendered = ({ window, ...limits }: { window: string; messages?: number; recipients?: number }) => ({
    ...limits,
    windowSeconds: durationMilliseconds(window) / 1000,
  });

  it("with the gateway's default window", () => {
    const spec = parseSmtpUser(user({ rateLimit: {} }));
    assert.ok(spec.ok && spec.value.spec.rateLimit);
    assert.deepEqual(RateLimitSchema.parse(rendered(spec.value.spec.rateLimit)), RateLimitSchema.parse({}));
  });

  it("taking exactly the windows the gateway takes", () => {
    const window = fc.oneof(
      fc.integer({ min: 0, max: 90_000 }).map((n) => `${n}s`),
      fc.integer({ min: 0, max: 1500 }).map((n) => `${n}m`),
      fc
        .tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 59 }))
        .map(([h, m]) => `${h}h${m}m`),
    );
    fc.assert(
      fc.property(window, fc.integer({ min: 1, max: 1000 }), (window, messages) => {
        const api = parseSubmissionGateway(gateway({ policy: { rateLimit: { messages, window } } }));
        const gatewaySide = RateLimitSchema.safeParse(rendered({ messages, window }));
        assert.equal(api.ok, gatewaySide.success, window);
      }),
    );
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { allRules, cidrRule, type RuleName } from "./cel.ts";
import { ruleCases } from "./rule-cases.ts";
import { parseSmtpUser } from "./schema/smtp-user.ts";
import { parseSubmissionGateway } from "./schema/submission-gateway.ts";

const parse = (manifest: { kind: string }) =>
  manifest.kind === "SmtpUser" ? parseSmtpUser(manifest) : parseSubmissionGateway(manifest);

describe("every CEL rule, through zod", () => {
  for (const [name, { accepted, refused }] of Object.entries(ruleCases)) {
    const { message } = allRules[name as RuleName];
    it(`${name}: accepts its passing cases`, () => {
      for (const manifest of accepted) {
        const result = parse(manifest);
        assert.ok(result.ok, `${JSON.stringify(manifest.spec)}: ${result.ok || result.error}`);
      }
    });
    it(`${name}: refuses its failing cases with its message, and for nothing else`, () => {
      for (const manifest of refused) {
        const result = parse(manifest);
        assert.equal(result.ok, false, JSON.stringify(manifest.spec));
        if (!result.ok)
          assert.deepEqual(new Set(result.issues.map((issue) => issue.message)), new Set([message]));
      }
    });
  }
});

describe("rule failures", () => {
  it("are reported at the rule's fieldPath", () => {
    const result = parse(ruleCases.listenerPortsUnique.refused[0] ?? assert.fail());
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.issues[0]?.path, "spec.listeners");
  });
  it("without a fieldPath, at the object the rule is attached to", () => {
    const result = parse(ruleCases.cidr.refused[0] ?? assert.fail());
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.issues[0]?.path, "spec.allowedSourceRanges[0]");
  });
});

describe("every rule", () => {
  it("has a fieldPath the API server accepts: a dotted path of field names", () => {
    for (const rule of Object.values(allRules)) {
      if (rule.fieldPath !== undefined) assert.match(rule.fieldPath, /^(\.[a-zA-Z]+)+$/);
    }
  });
});

describe("the CIDR rule", () => {
  it("accepts every IPv4 prefix of 0 to 32 bits", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (address, bits) => {
        assert.equal(cidrRule.holds(`${address}/${bits}`), true);
      }),
    );
  });
  it("accepts every IPv6 prefix of 0 to 128 bits written in hex", () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (address, bits) => {
        fc.pre(!address.includes("."));
        assert.equal(cidrRule.holds(`${address}/${bits}`), true);
      }),
    );
  });
  it("refuses addresses without a prefix, prefixes too long, leading zeros, zones and IPv4-in-IPv6", () => {
    for (const value of [
      "10.0.0.0",
      "10.0.0.0/33",
      "10.0.0.0/08",
      "::/129",
      "fe80::1%eth0/64",
      "::ffff:1.2.3.4/128",
    ]) {
      assert.equal(cidrRule.holds(value), false, value);
    }
  });
});

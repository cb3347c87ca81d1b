import assert from "node:assert/strict";
import { test } from "node:test";
import { matchesSelector } from "./label-selector.ts";

const labels = { team: "mail", tier: "prod" };
const expr = (key: string, operator: string, values?: string[]) => ({
  matchExpressions: [{ key, operator, values }],
});

test("no selector and an empty selector match everything", () => {
  assert.equal(matchesSelector(undefined, labels), true);
  assert.equal(matchesSelector({}, {}), true);
});

test("matchLabels needs every pair", () => {
  const selector = { matchLabels: { team: "mail", tier: "prod" } };
  assert.equal(matchesSelector(selector, { ...labels, extra: "x" }), true);
  assert.equal(matchesSelector(selector, { team: "mail" }), false);
  assert.equal(matchesSelector(selector, { team: "mail", tier: "dev" }), false);
});

test("matchExpressions: In, NotIn, Exists, DoesNotExist", () => {
  assert.equal(matchesSelector(expr("tier", "In", ["prod", "stage"]), labels), true);
  assert.equal(matchesSelector(expr("tier", "In", ["dev"]), labels), false);
  assert.equal(matchesSelector(expr("absent", "In", [""]), labels), false);
  assert.equal(matchesSelector(expr("tier", "NotIn", ["dev"]), labels), true);
  assert.equal(matchesSelector(expr("absent", "NotIn", ["x"]), labels), true);
  assert.equal(matchesSelector(expr("tier", "NotIn", ["prod"]), labels), false);
  assert.equal(matchesSelector(expr("team", "Exists"), labels), true);
  assert.equal(matchesSelector(expr("team", "DoesNotExist"), labels), false);
  assert.equal(matchesSelector(expr("absent", "DoesNotExist"), labels), true);
  assert.equal(matchesSelector(expr("team", "Bogus"), labels), false);
});

test("labels and expressions must all hold", () => {
  const selector = {
    matchLabels: { team: "mail" },
    matchExpressions: [{ key: "tier", operator: "DoesNotExist" }],
  };
  assert.equal(matchesSelector(selector, labels), false);
  assert.equal(matchesSelector(selector, { team: "mail" }), true);
});

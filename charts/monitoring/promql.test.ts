import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { analyse, keepingSeries, PromqlSyntaxError } from "./promql.ts";

describe("analyse", () => {
  it("finds every vector selector, inside functions, ranges and both sides of operators", () => {
    const { selectors } = analyse(
      'sum(rate(a_total{x="1", y=~"2|3"}[5m])) / sum(rate(b_total[5m])) or absent(c{name="n"})',
    );
    assert.deepEqual(selectors, ['a_total{x="1", y=~"2|3"}', "b_total", 'c{name="n"}']);
  });

  it("by and without apply to the aggregated expression, a parameter (topk's k) aside", () => {
    const { groupings } = analyse("topk(10, sum without (pod) (increase(m[1m])))");
    assert.deepEqual(groupings, [{ clause: "without (pod)", labels: ["pod"], operand: "increase(m[1m])" }]);
    assert.deepEqual(analyse("sum by (le, name) (rate(h_bucket[1m]))").groupings, [
      { clause: "by (le, name)", labels: ["le", "name"], operand: "rate(h_bucket[1m])" },
    ]);
  });

  it("on and ignoring apply to both sides; group_left's labels to the right-hand side", () => {
    const { groupings } = analyse("a > 0 and on (namespace, pod) b");
    assert.deepEqual(groupings, [
      { clause: "on (namespace, pod)", labels: ["namespace", "pod"], operand: "a > 0" },
      { clause: "on (namespace, pod)", labels: ["namespace", "pod"], operand: "b" },
    ]);
    const left = analyse("a * ignoring (x) group_left (owner) b").groupings;
    assert.deepEqual(left.at(-1), {
      clause: "ignoring (x) group_left (owner)",
      labels: ["owner"],
      operand: "b",
    });
    const right = analyse("a * on (x) group_right (owner) b").groupings;
    assert.deepEqual(right.at(-1), { clause: "on (x) group_right (owner)", labels: ["owner"], operand: "a" });
  });

  it("refuses what is not PromQL", () => {
    assert.throws(() => analyse("sum by (a (b"), PromqlSyntaxError);
    assert.throws(() => analyse("rate(x[5m]"), PromqlSyntaxError);
  });
});

describe("keepingSeries", () => {
  it("makes filtering comparisons bool ones, leaving bool ones and arithmetic alone", () => {
    assert.equal(
      keepingSeries("sum(rate(e[5m])) > 0 and on (pod) s"),
      "sum(rate(e[5m])) > bool 0 and on (pod) s",
    );
    assert.equal(keepingSeries("a == bool 1"), "a == bool 1");
    assert.equal(keepingSeries("a - time() < 14 * 86400"), "a - time() < bool 14 * 86400");
    assert.equal(keepingSeries("a == 0 and b > 0"), "a == bool 0 and b > bool 0");
  });
});

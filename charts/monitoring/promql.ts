// What a PromQL expression asks of the series it reads, from the grammar the Prometheus UI uses
// (@prometheus-io/lezer-promql): its vector selectors, and the labels each by/without/on/ignoring
// (and group_left/group_right) clause needs on the expression it applies to. Pure: the checker
// (check-queries.ts) evaluates what this finds.
import type { SyntaxNode } from "@lezer/common";
import { parser } from "@prometheus-io/lezer-promql";

/** A grouping clause: `labels` must exist on the series of `operand` (PromQL text). */
export interface Grouping {
  clause: string;
  labels: string[];
  operand: string;
}

export interface Analysis {
  /** Every vector selector, as written (metric name and matchers). */
  selectors: string[];
  groupings: Grouping[];
}

/** Thrown for text the grammar does not accept. */
export class PromqlSyntaxError extends Error {}

const COMPARISONS = new Set(["Gtr", "Lss", "Gte", "Lte", "EqlSingle", "Neq", "Eql"]);

function parse(expr: string): SyntaxNode {
  const tree = parser.parse(expr);
  let error: number | undefined;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError && error === undefined) error = node.from;
    },
  });
  if (error !== undefined) throw new PromqlSyntaxError(`${expr}: syntax error at ${error}`);
  return tree.topNode;
}

function children(node: SyntaxNode): SyntaxNode[] {
  const list: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) list.push(child);
  return list;
}

const labelsOf = (expr: string, node: SyntaxNode) =>
  children(node)
    .filter((c) => c.name === "LabelName")
    .map((c) => expr.slice(c.from, c.to));

/**
 * `expr` with every filtering comparison made a `bool` one: the same series, with their labels,
 * whatever their values. An operand such as `rate(errors[5m]) > 0` is empty while all is well, yet
 * its labels are what an `on (...)` clause above it needs.
 */
export function keepingSeries(expr: string): string {
  const inserts: number[] = [];
  parse(expr)
    .cursor()
    .iterate((ref) => {
      if (ref.name !== "BinaryExpr") return;
      const parts = children(ref.node);
      const op = parts[1];
      if (!op || !COMPARISONS.has(op.name) || parts.some((p) => p.name === "BoolModifier")) return;
      inserts.push(op.to);
    });
  let text = expr;
  for (const at of inserts.sort((a, b) => b - a)) text = `${text.slice(0, at)} bool${text.slice(at)}`;
  return text;
}

export function analyse(expr: string): Analysis {
  const selectors: string[] = [];
  const groupings: Grouping[] = [];
  const text = (node: SyntaxNode | null | undefined) => (node ? expr.slice(node.from, node.to) : "");
  parse(expr)
    .cursor()
    .iterate((ref) => {
      const node = ref.node;
      if (node.name === "VectorSelector") {
        selectors.push(text(node));
      } else if (node.name === "AggregateExpr") {
        const modifier = node.getChild("AggregateModifier");
        const body = node.getChild("FunctionCallBody");
        const grouping = modifier?.getChild("GroupingLabels");
        // The aggregated expression is the body's last argument (topk(10, x): x).
        if (modifier && grouping && body?.lastChild) {
          groupings.push({
            clause: text(modifier),
            labels: labelsOf(expr, grouping),
            operand: text(body.lastChild),
          });
        }
      } else if (node.name === "BinaryExpr") {
        const matching = node.getChild("MatchingModifierClause");
        if (!matching) return;
        const lhs = text(node.firstChild);
        const rhs = text(node.lastChild);
        const [on, extra] = matching.getChildren("GroupingLabels");
        if (on) {
          const labels = labelsOf(expr, on);
          const clause = text(matching);
          groupings.push({ clause, labels, operand: lhs }, { clause, labels, operand: rhs });
        }
        // group_left(l): l comes from the right-hand side ("one" side); group_right from the left.
        if (extra) {
          groupings.push({
            clause: text(matching),
            labels: labelsOf(expr, extra),
            operand: matching.getChild("GroupLeft") ? rhs : lhs,
          });
        }
      }
    });
  return { selectors, groupings };
}

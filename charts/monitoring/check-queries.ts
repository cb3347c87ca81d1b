// Whether a PromQL expression works against what a Prometheus holds: it evaluates without error,
// (for a panel) returns data, every vector selector in it returns series, and every label it groups
// or matches by (by, without, on, ignoring, group_left/right) is on every series it applies to. The
// last two catch a misspelt metric or label that the whole expression would hide (an `or`, an
// absent(), a sum() of nothing is no error).

import type { QueryResult } from "./prometheus.ts";
import { analyse, keepingSeries } from "./promql.ts";

export type Evaluate = (expr: string) => Promise<QueryResult>;

/** The problems found, each a sentence; none when the expression works. */
export async function checkExpression(
  evaluate: Evaluate,
  expr: string,
  options: { mustReturnData: boolean },
): Promise<string[]> {
  let analysis: ReturnType<typeof analyse>;
  try {
    analysis = analyse(expr);
  } catch (error) {
    return [(error as Error).message];
  }
  const problems: string[] = [];
  const whole = await evaluate(expr);
  if (whole.error) problems.push(`evaluation failed: ${whole.error}`);
  else if (options.mustReturnData && whole.series.length === 0) problems.push("returns no data");
  for (const selector of new Set(analysis.selectors)) {
    const result = await evaluate(selector);
    if (result.error) problems.push(`selector ${selector}: ${result.error}`);
    else if (result.series.length === 0) problems.push(`selector ${selector} returns no series`);
  }
  for (const { clause, labels, operand } of analysis.groupings) {
    // Comparisons made bool: a filter that is empty while all is well still shows its labels.
    const result = await evaluate(keepingSeries(operand));
    if (result.error) {
      problems.push(`\`${clause}\` over ${operand}: ${result.error}`);
      continue;
    }
    if (result.series.length === 0) {
      problems.push(`\`${clause}\` over ${operand}: no series to check its labels on`);
      continue;
    }
    for (const label of labels) {
      const without = result.series.filter((s) => !(label in s)).length;
      if (without > 0) {
        problems.push(
          `\`${clause}\`: label ${label} missing on ${without} of ${result.series.length} series of ${operand}`,
        );
      }
    }
  }
  return problems;
}

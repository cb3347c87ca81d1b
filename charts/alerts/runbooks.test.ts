// Every alert says what is wrong (summary) and links its own section of docs/runbooks.md, and every
// section there belongs to an alert.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";

const root = join(import.meta.dirname, "../..");
const RUNBOOKS = "https://github.com/postern-io/postern/blob/main/docs/runbooks.md";

interface Rule {
  alert?: string;
  annotations?: Record<string, string>;
}
const rules = (
  parse(readFileSync(join(root, "charts/postern/files/prometheus-rules.yaml"), "utf8")) as {
    groups: { rules: Rule[] }[];
  }
).groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined));

/** The anchors GitHub gives the runbook's sections: the heading, lower-cased. */
const sections = [...readFileSync(join(root, "docs/runbooks.md"), "utf8").matchAll(/^## (\S+)$/gm)].map((m) =>
  m[1]?.toLowerCase(),
);

test("every alert has a summary and a runbook_url to its own section of docs/runbooks.md", () => {
  assert.ok(rules.length > 0);
  for (const rule of rules) {
    assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
    assert.equal(rule.annotations?.runbook_url, `${RUNBOOKS}#${rule.alert?.toLowerCase()}`, rule.alert);
    assert.ok(sections.includes(rule.alert?.toLowerCase()), `${rule.alert}: a section in docs/runbooks.md`);
  }
});

test("every runbook section belongs to an alert", () => {
  assert.deepEqual(sections.sort(), rules.map((r) => r.alert?.toLowerCase()).sort());
});

// The alert rules with Prometheus' own promtool: the file is a valid rule file, and its unit tests
// (rules.promtool.yaml) pass, with every alert seen both firing and not firing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";

const here = import.meta.dirname;
const rulesFile = join(here, "../postern/files/prometheus-rules.yaml");
const testsFile = join(here, "rules.promtool.yaml");

function promtool(...args: string[]) {
  const result = spawnSync("promtool", args, { cwd: here, encoding: "utf8" });
  assert.equal(result.error, undefined, "promtool runs (hack/install-test-deps.sh installs it)");
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

interface RuleFile {
  groups: { rules: { alert?: string }[] }[];
}
interface UnitTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

const alerts = (parse(readFileSync(rulesFile, "utf8")) as RuleFile).groups.flatMap((g) =>
  g.rules.flatMap((r) => r.alert ?? []),
);

test("promtool check rules accepts the rule file", () => {
  const { code, output } = promtool("check", "rules", rulesFile);
  assert.equal(code, 0, output);
  assert.match(output, new RegExp(`SUCCESS: ${alerts.length} rules found`));
});

test("promtool test rules: every alert's unit tests pass", () => {
  const { code, output } = promtool("test", "rules", testsFile);
  assert.equal(code, 0, output);
});

test("every alert is tested firing and not firing", () => {
  const cases = (parse(readFileSync(testsFile, "utf8")) as UnitTests).tests.flatMap(
    (t) => t.alert_rule_test ?? [],
  );
  for (const alert of alerts) {
    const mine = cases.filter((c) => c.alertname === alert);
    assert.ok(
      mine.some((c) => (c.exp_alerts ?? []).length > 0),
      `${alert}: a case where it fires`,
    );
    assert.ok(
      mine.some((c) => (c.exp_alerts ?? []).length === 0),
      `${alert}: a case where it does not fire`,
    );
  }
});

// The generated dashboards: the files the chart ships, each with the data source, namespace and job
// variables, every panel querying, and every query valid PromQL once Grafana's variables are
// replaced (that each returns data is charts/monitoring.e2e-test.ts's, against a real Prometheus).
import assert from "node:assert/strict";
import { test } from "node:test";
import { panelQueries, variableSources } from "../monitoring/dashboard-queries.ts";
import { analyse } from "../monitoring/promql.ts";
import { dashboardFiles } from "./render.ts";

const VALUES = { namespace: "mail", job: "corp", __rate_interval: "1m", __range: "1h" };
const files = dashboardFiles();

test("the chart ships the gateway and the operator dashboards", () => {
  assert.deepEqual(
    [...files.keys()],
    [
      "charts/postern/files/dashboards/postern-gateway.json",
      "charts/postern/files/dashboards/postern-operator.json",
    ],
  );
});

for (const [path, text] of files) {
  const dashboard = JSON.parse(text);
  test(`${path}: variables, and every panel's queries are PromQL`, () => {
    assert.deepEqual(
      dashboard.templating.list.map((v: { name: string }) => v.name),
      ["datasource", "namespace", "job"],
    );
    for (const { selector } of variableSources(dashboard, VALUES)) analyse(selector);
    const panels = dashboard.panels.filter((p: { type: string }) => p.type !== "row");
    const queries = panelQueries(dashboard, VALUES);
    for (const panel of panels) {
      assert.ok(
        queries.some((q) => q.panel === panel.title),
        `${panel.title}: a query`,
      );
    }
    for (const { panel, expr } of queries) {
      assert.doesNotThrow(() => analyse(expr), `${panel}: ${expr}`);
    }
  });
}

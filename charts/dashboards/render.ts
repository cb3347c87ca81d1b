// The Grafana dashboards, written with @grafana/grafana-foundation-sdk and generated into the chart
// (charts/postern/files/dashboards/) by charts/generate.ts, which also checks them for drift.
import { gatewayDashboard } from "./gateway.ts";
import { operatorDashboard } from "./operator.ts";

const DIR = "charts/postern/files/dashboards";

/** Generated dashboard files: repository-relative path → content. */
export function dashboardFiles(): Map<string, string> {
  return new Map([
    [`${DIR}/postern-gateway.json`, `${JSON.stringify(gatewayDashboard().build(), null, 2)}\n`],
    [`${DIR}/postern-operator.json`, `${JSON.stringify(operatorDashboard().build(), null, 2)}\n`],
  ]);
}

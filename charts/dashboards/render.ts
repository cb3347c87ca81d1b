// The Grafana dashboards, written with @grafana/grafana-foundation-sdk and generated into the chart
// (charts/postern/files/dashboards/). Placeholder until the dashboards land: no files yet.

/** Generated dashboard files: repository-relative path → content. */
export function dashboardFiles(): Map<string, string> {
  return new Map();
}

// What both dashboards share: the variables (data source, namespace, the scrape job) and the panel
// shapes, so each dashboard file says only what it shows.
import * as common from "@grafana/grafana-foundation-sdk/common";
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder, PromQueryFormat } from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as table from "@grafana/grafana-foundation-sdk/table";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";

// Grafana's variable syntax, not a template literal: the data source the viewer picks.
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** The matchers every query of a dashboard starts with: the chosen namespace and job. */
export const TARGET = 'namespace="$namespace", job="$job"';

/** A counter's per-second rate on the chosen target, with extra matchers if given. */
export const rate = (metric: string, matchers = "") =>
  `rate(${metric}{${TARGET}${matchers ? `, ${matchers}` : ""}}[$__rate_interval])`;

/** The q-quantile of a histogram on the chosen target, per the `by` labels. */
export const quantile = (q: number, metric: string, by: string[] = []) =>
  `histogram_quantile(${q}, sum by (${[...by, "le"].join(", ")}) (${rate(`${metric}_bucket`)}))`;

/**
 * A dashboard with the three variables. `metric` is a series every target of the kind always has:
 * the namespace and job lists come from it. `job` is the scrape job, which prometheus-operator sets to
 * the Service's name.
 */
export function dashboard(options: { uid: string; title: string; description: string; metric: string }) {
  const variable = (name: string, label: string, query: string) =>
    new QueryVariableBuilder(name)
      .label(label)
      .datasource(DATASOURCE)
      .query({ qryType: 1, query, refId: "PrometheusVariableQueryEditor-VariableQuery" })
      .definition(query)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc);
  return new DashboardBuilder(options.title)
    .uid(options.uid)
    .description(options.description)
    .tags(["postern"])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .timezone("browser")
    .withVariable(new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"))
    .withVariable(variable("namespace", "Namespace", `label_values(${options.metric}, namespace)`))
    .withVariable(variable("job", "Job", `label_values(${options.metric}{namespace="$namespace"}, job)`));
}

/** One PromQL query with its legend. */
export type Query = [expr: string, legend: string];

function target([expr, legend]: Query, index: number): DataqueryBuilder {
  return new DataqueryBuilder()
    .datasource(DATASOURCE)
    .expr(expr)
    .legendFormat(legend)
    .refId(String.fromCharCode(65 + index));
}

interface PanelOptions {
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  /** Grid columns out of 24. */
  width?: number;
}

/** Lines over time. */
export function graph(options: PanelOptions & { stacked?: boolean }): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .min(0)
    .fillOpacity(options.stacked ? 30 : 10)
    .span(options.width ?? 12)
    .height(8)
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true)
        .calcs(["mean", "max"]),
    );
  if (options.stacked) {
    panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  }
  for (const [i, query] of options.queries.entries()) panel.withTarget(target(query, i));
  return panel;
}

/** One number now. */
export function single(options: PanelOptions): stat.PanelBuilder {
  const panel = new stat.PanelBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .span(options.width ?? 6)
    .height(4)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]))
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.None);
  for (const [i, query] of options.queries.entries()) panel.withTarget(target(query, i));
  return panel;
}

/** The rows of an instant query, as a table. */
export function ranking(options: PanelOptions): table.PanelBuilder {
  const panel = new table.PanelBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .span(options.width ?? 12)
    .height(8);
  for (const [i, query] of options.queries.entries()) {
    panel.withTarget(target(query, i).instant().format(PromQueryFormat.Table));
  }
  return panel;
}

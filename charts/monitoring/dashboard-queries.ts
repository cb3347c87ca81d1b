// The queries of a generated Grafana dashboard, as Prometheus would run them: every panel target
// (rows' panels included) and every variable's label_values() source, with Grafana's variables
// replaced by the values a viewer would have. Pure.

export interface PanelQuery {
  panel: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

interface Dashboard {
  panels?: Panel[];
  templating?: { list?: { name: string; type: string; definition?: string }[] };
}

/** `$name`, `${name}` and `[[name]]` replaced from `values`; an unknown variable throws. */
export function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]/g, (_, a, b, c) => {
    const name = a ?? b ?? c;
    const value = values[name];
    if (value === undefined) throw new Error(`${expr}: no value for $${name}`);
    return value;
  });
}

export function panelQueries(dashboard: Dashboard, values: Record<string, string>): PanelQuery[] {
  const flat = (panels: Panel[] = []): Panel[] => panels.flatMap((p) => [p, ...flat(p.panels)]);
  return flat(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).flatMap((target) =>
      target.expr === undefined ? [] : [{ panel: panel.title ?? "", expr: substitute(target.expr, values) }],
    ),
  );
}

/** Each query variable's label_values(selector, label): the selector (substituted) and the label. */
export function variableSources(
  dashboard: Dashboard,
  values: Record<string, string>,
): { variable: string; selector: string; label: string }[] {
  return (dashboard.templating?.list ?? []).flatMap((v) => {
    if (v.type !== "query" || v.definition === undefined) return [];
    const call = /^label_values\((.+),\s*(\w+)\)$/.exec(v.definition);
    if (!call?.[1] || !call[2]) throw new Error(`variable ${v.name}: not label_values(selector, label)`);
    return [{ variable: v.name, selector: substitute(call[1], values), label: call[2] }];
  });
}

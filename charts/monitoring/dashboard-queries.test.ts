import assert from "node:assert/strict";
import { test } from "node:test";
import { panelQueries, substitute, variableSources } from "./dashboard-queries.ts";

const VALUES = { namespace: "mail", job: "corp", __rate_interval: "1m" };

test("substitute replaces Grafana's variable spellings and refuses unknown ones", () => {
  assert.equal(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${var} spelling, not a template literal
    substitute('x{a="$namespace", b="${job}"}[$__rate_interval]', VALUES),
    'x{a="mail", b="corp"}[1m]',
  );
  assert.equal(substitute("[[job]]", VALUES), "corp");
  assert.throws(() => substitute("$nope", VALUES), /no value for \$nope/);
});

test("panel queries come from rows' panels too; variables from label_values()", () => {
  const dashboard = {
    panels: [
      { title: "a", targets: [{ expr: 'up{job="$job"}' }] },
      { title: "row", type: "row", panels: [{ title: "b", targets: [{ expr: "x" }, { expr: "y" }] }] },
    ],
    templating: {
      list: [
        { name: "datasource", type: "datasource" },
        { name: "job", type: "query", definition: 'label_values(m{namespace="$namespace"}, job)' },
      ],
    },
  };
  assert.deepEqual(panelQueries(dashboard, VALUES), [
    { panel: "a", expr: 'up{job="corp"}' },
    { panel: "b", expr: "x" },
    { panel: "b", expr: "y" },
  ]);
  assert.deepEqual(variableSources(dashboard, VALUES), [
    { variable: "job", selector: 'm{namespace="mail"}', label: "job" },
  ]);
});

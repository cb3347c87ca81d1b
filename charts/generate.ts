// `node charts/generate.ts` writes the chart's generated files (values.schema.json, values.yaml,
// README.md, the CRDs under files/crds/, the Grafana dashboards under files/dashboards/);
// `--check` writes nothing and exits 1 naming each file that differs; `--root DIR` works on another
// checkout.
import { generateCommand } from "../hack/generated-files.ts";
import { chartFiles } from "./render.ts";

await generateCommand(chartFiles(), "charts/values/schema.ts, crds/schema and charts/dashboards");

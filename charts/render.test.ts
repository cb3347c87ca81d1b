// What charts/generate.ts writes into the chart.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { generatedFiles } from "../crds/render.ts";
import { chartFiles } from "./render.ts";

test("the chart's CRDs are crds/generated's, annotated to be kept on uninstall", () => {
  const files = chartFiles();
  for (const [path, content] of generatedFiles()) {
    if (!path.startsWith("crds/generated/")) continue;
    const copy = files.get(path.replace("crds/generated/", "charts/postern/files/crds/"));
    assert.ok(copy, `a copy of ${path}`);
    const original = parse(content);
    const kept = parse(copy);
    assert.deepEqual(kept.metadata.annotations, { "helm.sh/resource-policy": "keep" });
    delete kept.metadata.annotations;
    assert.deepEqual(kept, original);
  }
});

test("the chart's generated files are the values files, the README and the CRDs (and any dashboards)", () => {
  const paths = [...chartFiles().keys()].filter((p) => !p.startsWith("charts/postern/files/dashboards/"));
  assert.deepEqual(paths.sort(), [
    "charts/postern/README.md",
    "charts/postern/files/crds/postern.io_smtpusers.yaml",
    "charts/postern/files/crds/postern.io_submissiongateways.yaml",
    "charts/postern/values.schema.json",
    "charts/postern/values.yaml",
  ]);
});

// What the chart's tests do with the real helm (hack/tools/bin, `make tools`): run it against the
// test cluster, parse what it rendered, and make scratch copies of the chart with extra files.
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import { type RunResult, run } from "../../gateway/testing/run.ts";
import { kubeconfigPath } from "../../hack/testing/cluster.ts";
import { repoRoot } from "../../hack/testing/control-plane.ts";

export const CHART = join(repoRoot, "charts/postern");

/** helm with the test cluster's kubeconfig; a non-zero exit is a result, not an error. */
export function helm(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return run(join(repoRoot, "hack/tools/bin/helm"), [...args, "--kubeconfig", kubeconfigPath()], {
    timeoutMs,
  });
}

/** helm that must succeed; its stdout. */
export async function helmOk(args: string[], timeoutMs?: number): Promise<string> {
  const result = await helm(args, timeoutMs);
  if (result.code !== 0) throw new Error(`helm ${args.join(" ")}: exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

export type RenderedObject = KubernetesObject & Record<string, unknown>;

/** The objects of a multi-document YAML stream, empty documents left out. */
export function objectsOf(text: string): RenderedObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as RenderedObject | null)
    .filter((object): object is RenderedObject => object !== null);
}

/** A values file in a temp dir, removed when the test ends; its path for `--values`. */
export async function valuesFile(t: TestContext, values: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "postern-values-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "values.yaml");
  await writeFile(path, stringify(values));
  return path;
}

export const SCRATCH_DASHBOARD = "scratch-dashboard.json";

/**
 * A copy of the chart with one more Grafana dashboard (files/dashboards/scratch-dashboard.json), so
 * a test knows one dashboard ConfigMap's content whatever dashboards the chart ships.
 */
export async function scratchChart(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "postern-chart-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const chart = join(dir, "postern");
  await cp(CHART, chart, { recursive: true });
  await mkdir(join(chart, "files/dashboards"), { recursive: true });
  await writeFile(
    join(chart, "files/dashboards", SCRATCH_DASHBOARD),
    JSON.stringify({ title: "Scratch", panels: [] }),
  );
  return chart;
}

// The translation of ServiceMonitors into scrape configs, for the gateway's ServiceMonitor as the
// operator renders it; and Prometheus' own promtool accepts the result as a configuration.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { serviceMonitor } from "../../operator/render/service-monitor.ts";
import { gatewayOf } from "../../operator/render/test-fixtures.ts";
import { type ServiceMonitorSpec, scrapeConfigs } from "./scrape-config.ts";

const rendered = serviceMonitor(gatewayOf({ observability: { serviceMonitor: { enabled: true } } } as never));
assert.ok(rendered);
const monitor = rendered as unknown as ServiceMonitorSpec;

test("a gateway's ServiceMonitor: its namespace, its Service's selector labels and port name kept", () => {
  const [config, ...rest] = scrapeConfigs([monitor], { kubeconfig: "/k" }) as Record<string, unknown>[];
  assert.equal(rest.length, 0);
  assert.equal(config?.job_name, "serviceMonitor/mail/corp/0");
  assert.equal(config?.scrape_interval, "30s");
  assert.equal(config?.metrics_path, "/metrics");
  assert.equal(config?.honor_labels, false);
  assert.deepEqual(config?.kubernetes_sd_configs, [
    { role: "endpoints", kubeconfig_file: "/k", namespaces: { names: ["mail"] } },
  ]);
  const relabels = config?.relabel_configs as Record<string, unknown>[];
  const keeps = relabels.filter((r) => r.action === "keep");
  assert.deepEqual(keeps, [
    {
      action: "keep",
      source_labels: [
        "__meta_kubernetes_service_label_app_kubernetes_io_name",
        "__meta_kubernetes_service_labelpresent_app_kubernetes_io_name",
      ],
      regex: "(postern-gateway);true",
    },
    {
      action: "keep",
      source_labels: [
        "__meta_kubernetes_service_label_app_kubernetes_io_instance",
        "__meta_kubernetes_service_labelpresent_app_kubernetes_io_instance",
      ],
      regex: "(corp);true",
    },
    {
      action: "keep",
      source_labels: [
        "__meta_kubernetes_service_label_postern_io_gateway",
        "__meta_kubernetes_service_labelpresent_postern_io_gateway",
      ],
      regex: "(corp);true",
    },
    { action: "keep", source_labels: ["__meta_kubernetes_endpoint_port_name"], regex: "metrics" },
  ]);
  const targetLabels = relabels.flatMap((r) => (r.target_label ? [r.target_label] : []));
  for (const label of ["namespace", "service", "pod", "container", "job", "endpoint"]) {
    assert.ok(targetLabels.includes(label), label);
  }
  assert.deepEqual(
    relabels.find((r) => r.target_label === "job"),
    { source_labels: ["__meta_kubernetes_service_name"], target_label: "job" },
    "job is the Service's name",
  );
});

test("namespaceSelector, jobLabel, honorLabels and an interval override", () => {
  const [config] = scrapeConfigs(
    [
      {
        metadata: { name: "op", namespace: "postern" },
        spec: {
          selector: { matchLabels: { app: "x" } },
          namespaceSelector: { any: true },
          jobLabel: "app.kubernetes.io/name",
          endpoints: [{ port: "metrics", honorLabels: true, interval: "30s" }],
        },
      },
    ],
    { kubeconfig: "/k", interval: "1s" },
  ) as Record<string, unknown>[];
  assert.equal(config?.scrape_interval, "1s");
  assert.equal(config?.honor_labels, true);
  assert.deepEqual(config?.kubernetes_sd_configs, [{ role: "endpoints", kubeconfig_file: "/k" }]);
  assert.deepEqual(
    (config?.relabel_configs as Record<string, unknown>[] | undefined)?.find((r) => r.target_label === "job"),
    { source_labels: ["__meta_kubernetes_service_label_app_kubernetes_io_name"], target_label: "job" },
  );
  assert.throws(
    () =>
      scrapeConfigs(
        [
          {
            metadata: { name: "m", namespace: "n" },
            spec: { selector: { matchExpressions: [{}] }, endpoints: [] },
          },
        ],
        { kubeconfig: "/k" },
      ),
    /matchExpressions not translated/,
  );
});

test("promtool check config accepts the translated configuration", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "postern-scrape-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Debian's promtool knows no kubernetes_sd_configs (removed there), so file discovery stands in
  // for it here; the rest of each job is checked as is. The real discovery runs in the monitoring
  // e2e test, in a Prometheus built with it.
  const jobs = scrapeConfigs([monitor], { kubeconfig: "/k", interval: "1s" }) as Record<string, unknown>[];
  const configs = jobs.map(({ kubernetes_sd_configs: _, ...job }) => ({
    ...job,
    file_sd_configs: [{ files: [join(dir, "targets.json")] }],
  }));
  const file = join(dir, "prometheus.yml");
  writeFileSync(file, stringify({ scrape_configs: configs }));
  const result = spawnSync("promtool", ["check", "config", file], { encoding: "utf8" });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

// The dashboards and alerts against a real Prometheus scraping the real gateway and operator pods on
// a real node. The operator is installed by the chart in a namespace of its own (its ServiceMonitor
// and PrometheusRule on, the real prometheus-operator CRDs installed first); a gateway in another
// namespace asks for a ServiceMonitor and per-user metrics. Prometheus (3.16, built from the pinned
// module with Kubernetes service discovery, which Debian's lacks: hack/tools/prometheus/) finds the
// pods itself through the test cluster's API server (role endpoints, the test's namespaces) and
// scrapes every second what those ServiceMonitors select, translated as prometheus-operator does
// (monitoring/scrape-config.ts), while real clients (swaks) log in, fail, get locked out, send and
// get refused. Then every panel query of the generated dashboards and every alert expression is run
// through Prometheus's HTTP API: each must evaluate, each panel return data, every vector selector
// return series and every grouping label exist on what it groups (monitoring/check-queries.ts); a
// misspelt metric and a misspelt label are reported by the same check, so it can fail.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import {
  addUser,
  gateway,
  IMAGE,
  kc,
  readyPods,
  restrictedNamespace,
  SWAKS_AUTH_FAILED,
  serviceAddress,
  startUpstream,
  swaks,
  tlsSecret,
} from "../e2e/testing/system.ts";
import { run, testMessage } from "../gateway/testing/run.ts";
import { kubeconfigPath } from "../hack/testing/cluster.ts";
import { repoRoot } from "../hack/testing/control-plane.ts";
import { installMonitoringCrds } from "../hack/testing/monitoring-crds.ts";
import { apply, eventually, untilCondition } from "../operator/testing/cluster-objects.ts";
import { dashboardFiles } from "./dashboards/render.ts";
import { checkExpression } from "./monitoring/check-queries.ts";
import { panelQueries, variableSources } from "./monitoring/dashboard-queries.ts";
import { startPrometheus } from "./monitoring/prometheus.ts";
import { type ServiceMonitorSpec, scrapeConfigs } from "./monitoring/scrape-config.ts";
import { CHART, helm, helmOk } from "./testing/helm.ts";

const RELEASE = "monitoring";
/** The chart's operator Service (fullname + "-metrics"): the operator's scrape job. */
const OPERATOR_JOB = `${RELEASE}-postern-operator-metrics`;
const RULES = join(repoRoot, "charts/postern/files/prometheus-rules.yaml");
/** Grafana's $__rate_interval and $__range, as concrete ranges over this short run. */
const RANGES = { __rate_interval: "1m", __range: "10m" };
const ALICE = { username: "alice@example.com", password: "alice-monitoring-1" };
const BOB = { username: "bob@example.com", password: "bob-monitoring-1" };
async function list<T>(kind: string, namespace: string): Promise<T[]> {
  return (JSON.parse(await kc(["get", kind, "-o", "json"], { namespace })) as { items: T[] }).items;
}

test("a real Prometheus scrapes the gateway and the operator: every panel and alert query works", async (t) => {
  // The operator's namespace and the gateway's differ, as in a real install: series the operator
  // exports about a gateway must name the gateway's namespace, not the operator's.
  const operatorNs = await restrictedNamespace(t);
  const ns = await restrictedNamespace(t);
  const upstream = await startUpstream(t);
  // Before the operator starts: it looks for the monitoring API once, at start.
  await installMonitoringCrds();
  const [repository, tag] = IMAGE.split(/:(?=[^:]+$)/);
  t.after(() => helm(["uninstall", RELEASE, "--namespace", operatorNs, "--wait"]));
  await helmOk(
    [
      ...["install", RELEASE, CHART, "--namespace", operatorNs, "--wait", "--timeout", "3m"],
      ...["--set", `image.repository=${repository},image.tag=${tag},image.pullPolicy=Never`],
      // The run's setup installed the CRDs; only the gateway's namespace, through a Role.
      ...["--set", `crds.enabled=false,replicas=1,watchNamespaces={${ns}}`],
      ...["--set", "monitoring.serviceMonitor.enabled=true,monitoring.prometheusRule.enabled=true"],
    ],
    240_000,
  );
  await tlsSecret(ns);
  await apply(
    gateway(ns, upstream, {
      spec: {
        observability: { serviceMonitor: { enabled: true }, perUserMetrics: true },
        // Three wrong passwords for one user start a lockout.
        auth: { bruteForce: { maxFailures: 3 } },
      },
    }),
  );
  await addUser(ns, "alice", ALICE.password);
  await addUser(ns, "bob", BOB.password);
  await untilCondition("SmtpUser", ns, "bob", "Ready", "True", "Bound");
  await readyPods(ns, 1);

  const monitors = await eventually("the chart's and the gateway's ServiceMonitors", async () => {
    const found = [
      ...(await list<ServiceMonitorSpec>("servicemonitors", operatorNs)),
      ...(await list<ServiceMonitorSpec>("servicemonitors", ns)),
    ];
    return found.length === 2 ? found : undefined;
  });
  const prometheus = await startPrometheus(t, {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: [RULES],
    scrape_configs: scrapeConfigs(monitors, { interval: "1s", kubeconfig: kubeconfigPath() }),
  });

  await t.test("both jobs are up, with the labels prometheus-operator gives its targets", async () => {
    const up = await eventually("the gateway and the operator scraped", async () => {
      const { series } = await prometheus.query("up == 1");
      return series.length === 2 ? series : undefined;
    });
    const [pod] = await readyPods(ns, 1);
    const byJob = Object.fromEntries(up.map((s) => [s.job, s]));
    assert.deepEqual(Object.keys(byJob).sort(), ["corp", OPERATOR_JOB]);
    assert.equal(byJob.corp?.pod, pod?.name);
    assert.equal(byJob.corp?.namespace, ns);
    assert.equal(byJob[OPERATOR_JOB]?.namespace, operatorNs);
    for (const series of up) {
      assert.equal(series.service, series.job, "job is the Service's name");
      assert.equal(series.endpoint, "metrics");
      assert.ok(series.container, "container");
    }
  });

  await t.test("load: logins, failures up to a lockout, messages relayed and refused", async () => {
    const service = await serviceAddress(ns);
    for (let i = 0; i < 3; i++) {
      const sent = await swaks(service, ALICE.username, ALICE.password);
      assert.equal(sent.code, 0, sent.output);
    }
    for (let i = 0; i < 4; i++) {
      const refused = await swaks(service, BOB.username, "not-bobs-password");
      assert.equal(refused.code, SWAKS_AUTH_FAILED, refused.output);
    }
    // A sender alice does not own: refused by policy (sender_not_owned).
    const message = testMessage("mallory@example.com", "dave@example.net");
    const notOwned = await run(
      "swaks",
      [
        ...["--server", `${service}:587`, "--helo", "client.test", "--tls"],
        ...["--auth", "PLAIN", "--auth-user", ALICE.username, "--auth-password", ALICE.password],
        ...["--from", message.from, "--to", message.to, "--data", "-", "--timeout", "20"],
      ],
      { input: message.text, timeoutMs: 60_000 },
    );
    assert.notEqual(notOwned.code, 0, notOwned.stdout);
    assert.match(notOwned.stdout, /^<~\* 553 /m);
    // What the load did, as Prometheus saw it (a few scrapes later).
    await eventually("Prometheus has the load", async () => {
      const checks = [
        'postern_messages_total{result="accepted"} >= 3',
        'postern_auth_attempts_total{result="failure"} >= 4',
        'postern_auth_lockouts_total{scope="user"} >= 1',
        'postern_policy_rejections_total{reason="sender_not_owned"} >= 1',
        // The gateway's namespace, though the operator runs in another (honorLabels).
        `postern_operator_gateway_replicas_ready{namespace="${ns}", gateway="corp"} == 1`,
        `postern_user_messages_total{user="${ALICE.username}", result="accepted"} >= 3`,
        // Two samples of the series the first refusal created: rate() has something to work on.
        'rate(postern_policy_rejections_total{reason="sender_not_owned"}[1m])',
      ];
      for (const check of checks) if ((await prometheus.query(check)).series.length === 0) return undefined;
      return true;
    });
  });

  const values = (job: string): Record<string, string> => ({
    namespace: job === OPERATOR_JOB ? operatorNs : ns,
    job,
    ...RANGES,
  });
  const evaluate = (expr: string) => prometheus.query(expr);

  for (const [path, text] of dashboardFiles()) {
    const dashboard = JSON.parse(text);
    const job = path.endsWith("postern-operator.json") ? OPERATOR_JOB : "corp";
    await t.test(`${path}: every panel query works, and the variables list this system`, async () => {
      const problems: string[] = [];
      for (const { panel, expr } of panelQueries(dashboard, values(job))) {
        for (const problem of await checkExpression(evaluate, expr, { mustReturnData: true })) {
          problems.push(`${panel}: ${problem} (${expr})`);
        }
      }
      assert.deepEqual(problems, []);
      for (const { variable, selector, label } of variableSources(dashboard, values(job))) {
        const { series } = await evaluate(selector);
        const offered = new Set(series.map((s) => s[label]));
        assert.ok(offered.has(values(job)[label]), `$${variable} offers ${[...offered]}`);
      }
    });
  }

  await t.test(
    "every alert expression works, and Prometheus evaluates every rule without error",
    async () => {
      const file = parse(await readFile(RULES, "utf8")) as {
        groups: { rules: { alert: string; expr: string }[] }[];
      };
      const problems: string[] = [];
      for (const rule of file.groups.flatMap((g) => g.rules)) {
        for (const problem of await checkExpression(evaluate, rule.expr, { mustReturnData: false })) {
          problems.push(`${rule.alert}: ${problem}`);
        }
      }
      assert.deepEqual(problems, []);
      const rules = await eventually("every rule evaluated", async () => {
        const data = await prometheus.api<{
          groups: { rules: { name: string; health: string; lastError?: string }[] }[];
        }>("/api/v1/rules");
        const all = data.groups.flatMap((g) => g.rules);
        return all.every((r) => r.health !== "unknown") ? all : undefined;
      });
      assert.deepEqual(
        rules.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.lastError}`),
        [],
      );
      assert.equal(rules.length, file.groups.flatMap((g) => g.rules).length);
    },
  );

  await t.test("the same check reports a misspelt metric and a misspelt label", async () => {
    const metric = await checkExpression(
      evaluate,
      `sum by (listener) (rate(postern_smtp_conections_total{namespace="${ns}"}[1m]))`,
      { mustReturnData: true },
    );
    assert.ok(
      metric.some((p) => /selector postern_smtp_conections_total\{.*\} returns no series/.test(p)),
      metric.join("\n"),
    );
    assert.ok(metric.includes("returns no data"), metric.join("\n"));
    const label = await checkExpression(
      evaluate,
      `sum by (listner) (rate(postern_smtp_connections_total{namespace="${ns}"}[1m]))`,
      { mustReturnData: true },
    );
    assert.deepEqual(
      label.filter((p) => p.includes("listner")).length,
      1,
      `the misspelt grouping label is reported: ${label.join("\n")}`,
    );
    const matcher = await checkExpression(
      evaluate,
      `postern_relay_total{namespace="${ns}", resutl="failed"} or vector(0)`,
      { mustReturnData: true },
    );
    assert.ok(
      matcher.some((p) => p.includes("resutl") && p.includes("returns no series")),
      `a misspelt matcher label is reported even where the expression returns data: ${matcher.join("\n")}`,
    );
  });
});

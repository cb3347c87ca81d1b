#!/usr/bin/env node
// postern-operator: informers → work queues → the gateway and credentials controllers, behind leader
// election, with /metrics, /healthz and /readyz. Every replica keeps warm caches (and answers
// /readyz once they synced); only the leader reconciles. Losing the lease stops reconciling at once
// and exits, as controller-runtime managers do, so the restarted process starts clean.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { HttpMethod, type KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { initTracing } from "../../gateway/observability/tracing.ts";
import { type OperatorCaches, userGatewayKey } from "../controllers/caches.ts";
import { credentialsReconciler } from "../controllers/credentials.ts";
import { type CredentialsSummary, gatewayReconciler } from "../controllers/gateway.ts";
import { wireTriggers } from "../controllers/triggers.ts";
import { derivationPool } from "../credentials/shards.ts";
import { ensureThreadpoolSize } from "../credentials/threadpool.ts";
import { Applier } from "../runtime/apply.ts";
import { isApiError, KubeClient } from "../runtime/client.ts";
import { Controller, type Reconcile } from "../runtime/controller.ts";
import { createEventRecorder } from "../runtime/events.ts";
import { PooledKubeConfig } from "../runtime/kube-config.ts";
import { LeaderElector } from "../runtime/leader-election.ts";
import { createOperatorMetrics } from "../runtime/metrics.ts";
import { bindAddress, type OperatorOptions, parseOperatorFlags, USAGE } from "./flags.ts";
import { createInformers } from "./informers.ts";

function loadKubeConfig(options: OperatorOptions): KubeConfig {
  const kubeConfig = new PooledKubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

function listen(server: Server, flag: string, address: string): Promise<string> {
  const { host, port } = bindAddress(flag, address);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const bound = server.address();
      resolve(typeof bound === "object" && bound ? `${host ?? "0.0.0.0"}:${bound.port}` : String(bound));
    });
  });
}

/** Whether the API server serves monitoring.coreos.com/v1 ServiceMonitors (the Prometheus Operator). */
async function hasServiceMonitors(client: KubeClient): Promise<boolean> {
  try {
    const list = await client.request<{ resources?: { kind?: string }[] }>(
      HttpMethod.GET,
      "/apis/monitoring.coreos.com/v1",
    );
    return list.resources?.some((r) => r.kind === "ServiceMonitor") ?? false;
  } catch (error) {
    if (isApiError(error, 404)) return false;
    throw error;
  }
}

async function main(): Promise<void> {
  // Before anything queues work on libuv's threadpool, which argon2 and PBKDF2 derivations run on.
  ensureThreadpoolSize();
  let options: OperatorOptions;
  try {
    options = parseOperatorFlags(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`postern-operator: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const logger = pino({ name: "postern-operator", level: options.logLevel });
  const stopTracing = await initTracing(process.env, "postern-operator");
  const kubeConfig = loadKubeConfig(options);
  const client = KubeClient.fromKubeConfig(kubeConfig);
  const metrics = createOperatorMetrics();
  const applier = new Applier({ client, metrics, logger });
  const identity = `${process.env.POD_NAME ?? hostname()}_${randomUUID()}`;
  const events = createEventRecorder(kubeConfig, "postern.io/operator", identity, logger);

  const informers = createInformers(kubeConfig, options.namespaces, await hasServiceMonitors(client), logger);
  const caches = informers as unknown as OperatorCaches;
  const summaries = new Map<string, CredentialsSummary>();

  const context = { caches, applier, client, events, metrics, logger };
  const controller = (name: string, keys: () => Iterable<string>, reconcile: Reconcile) =>
    new Controller({
      name,
      workers: options.workers,
      metrics,
      logger,
      resync: { periodMs: options.resyncSeconds * 1000, keys },
      reconcile,
    });
  const gateways = controller(
    "submissiongateway",
    () => informers.gateways.keys(),
    gatewayReconciler({
      ...context,
      deployment: { gatewayImage: options.gatewayImage, imagePullPolicy: options.gatewayImagePullPolicy },
      credentials: summaries,
    }),
  );
  const credentials = controller(
    "credentials",
    // Gateways, and the gateways users name that do not exist (their users still need a status).
    () =>
      new Set([
        ...informers.gateways.keys(),
        ...informers.users.list().flatMap((u) => userGatewayKey(u) ?? []),
      ]),
    credentialsReconciler({
      ...context,
      deriver: derivationPool(),
      summaries,
      gatewayChanged: (key) => gateways.enqueue(key),
    }),
  );

  wireTriggers(informers, gateways, credentials);

  const all = Object.values(informers).filter((i) => i !== undefined);
  let synced = false;
  const health = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/livez") res.writeHead(200).end("ok\n");
    else if (path === "/readyz")
      res.writeHead(synced ? 200 : 503).end(synced ? "ok\n" : "caches not synced\n");
    else res.writeHead(404).end("not found\n");
  });
  const metricsServer = createServer((req, res) => {
    if ((req.url ?? "/").split("?")[0] !== "/metrics") return void res.writeHead(404).end("not found\n");
    metrics.render().then(
      (body) => res.writeHead(200, { "content-type": metrics.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  const [metricsAt, healthAt] = await Promise.all([
    listen(metricsServer, "metrics-bind-address", options.metricsBindAddress),
    listen(health, "health-probe-bind-address", options.healthProbeBindAddress),
  ]);
  logger.info({ metrics: metricsAt, health: healthAt, identity, namespaces: options.namespaces }, "serving");

  for (const informer of all) informer.start();
  await Promise.all(all.map((i) => i.waitForSync()));
  synced = true;
  logger.info({}, "caches synced");

  let shuttingDown = false;
  let leading = false;
  const startControllers = () => {
    leading = true;
    logger.info({ identity }, "leading: starting controllers");
    // The queues already hold every key: the informers' initial lists went through the triggers.
    gateways.start();
    credentials.start();
  };

  const elector = options.leaderElect
    ? new LeaderElector({
        kubeConfig,
        namespace: options.leaderElectionNamespace ?? process.env.POD_NAMESPACE ?? "default",
        name: options.leaderElectionId,
        identity,
        leaseDurationMs: options.leaseDurationSeconds * 1000,
        renewDeadlineMs: options.renewDeadlineSeconds * 1000,
        retryPeriodMs: options.retryPeriodSeconds * 1000,
        metrics,
        logger,
        onStartedLeading: startControllers,
        onStoppedLeading: () => {
          if (shuttingDown) return;
          // Stop at once: another replica may already be reconciling.
          logger.error({ identity }, "lost the lease: stopping");
          process.exit(1);
        },
        onNewLeader: (leader) => logger.info({ leader }, "new leader"),
      })
    : undefined;
  if (elector) void elector.run();
  else startControllers();

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal, leading }, "shutting down");
    await Promise.all([gateways.stop(), credentials.stop()]);
    await elector?.stop();
    await Promise.all(all.map((i) => i.stop()));
    metricsServer.close();
    health.close();
    await stopTracing();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

await main();

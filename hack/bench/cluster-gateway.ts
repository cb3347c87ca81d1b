#!/usr/bin/env node
// For the benchmark only: one gateway process whose listeners are shared by several workers
// (node:cluster, the primary handing connections round-robin), to measure that way of using several
// cores against more replicas. Each worker is a whole gateway with its own state, as a replica is.
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import pino from "pino";
import { startGateway } from "../../gateway/gateway.ts";

const { values } = parseArgs({
  options: { config: { type: "string" }, workers: { type: "string", default: "2" } },
});
if (!values.config) throw new Error("usage: cluster-gateway.ts --config DIR [--workers N]");

if (cluster.isPrimary) {
  for (let i = 0; i < Number(values.workers); i++) cluster.fork();
  // A worker that dies is a failed measurement, not something to paper over by restarting it.
  cluster.on("exit", (worker, code) => {
    process.stderr.write(`cluster-gateway: worker ${worker.process.pid} exited with ${code}\n`);
    process.exit(1);
  });
  process.once("SIGTERM", () => {
    cluster.removeAllListeners("exit");
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
    process.exit(0);
  });
} else {
  await startGateway(values.config, { logger: pino({ name: "postern-gateway" }) });
}

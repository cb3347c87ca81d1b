// The gateway's HTTP side: liveness, readiness and Prometheus metrics on their own port.
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export interface HealthSource {
  /** False while starting and once shutdown began: the Service stops sending new clients. */
  ready(): boolean;
}

export function createHttpServer(registry: Registry, health: HealthSource): Server {
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/livez") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ready = health.ready();
      res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ok\n" : "not ready\n");
    } else if (path === "/metrics") {
      registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
        (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${err.message}\n`),
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
}

// A KubeConfig whose requests share connections. client-node 2.0 gives every request a new undici
// Agent, so every request opens its own TLS connection and leaves it idle until the keep-alive
// timeout: thousands of status writes were thousands of handshakes and hundreds of MiB of native
// memory in open sockets. Here one Agent serves every request for the same cluster and credentials.
// The bearer token (refreshed by client-node for in-cluster and exec credentials) travels in a
// header, so reusing the connection never reuses a stale token.
import { KubeConfig } from "@kubernetes/client-node";
import type { RequestContext } from "@kubernetes/client-node/dist/gen/http/http.js";

export class PooledKubeConfig extends KubeConfig {
  readonly #dispatchers = new Map<string, ReturnType<RequestContext["getDispatcher"]>>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    // Everything that goes into the Agent's TLS options; a change (new client certificate) gets a
    // new Agent.
    const key = JSON.stringify([
      cluster?.server,
      cluster?.caData,
      cluster?.caFile,
      cluster?.skipTLSVerify,
      cluster?.tlsServerName,
      cluster?.proxyUrl,
      user?.certData,
      user?.certFile,
      user?.keyData,
      user?.keyFile,
    ]);
    const shared = this.#dispatchers.get(key);
    if (shared) context.setDispatcher(shared);
    else this.#dispatchers.set(key, context.getDispatcher());
  }
}

// Which changes of gateway.yaml a running gateway cannot apply: the listening sockets (listeners, the
// HTTP address and port) are bound once, and whether TLS exists at all decides how every listener was
// built. A file with such a change is refused as a whole — counted and logged as a failed reload, the
// last good policy staying in force — rather than applied in part and reported as a success: until the
// pod is replaced, what runs is then exactly the last policy reported as loaded.
import type { GatewayConfig } from "../config/schema.ts";

export function restartOnlyChanges(current: GatewayConfig, next: GatewayConfig): string[] {
  const changed: string[] = [];
  if (JSON.stringify(next.listeners) !== JSON.stringify(current.listeners)) changed.push("listeners");
  if ((next.tls === undefined) !== (current.tls === undefined)) changed.push("tls");
  if (next.http.address !== current.http.address) changed.push("http.address");
  if (next.http.port !== current.http.port) changed.push("http.port");
  return changed;
}

// Whether a host name or address stays on this machine: the one case where a secret may travel
// without TLS (an upstream sidecar, a token issuer on localhost).
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

// Loopback ports for test servers.
import { connect, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** Ports this process was given: a caller draws several before it listens on any (a test gateway's
 *  four listeners), and a second draw of a port still free would hand out the same one twice. */
const handedOut = new Set<number>();

/**
 * A port that was free a moment ago, and never given out before in this process. Drawn below the kernel's ephemeral range (32768–60999 here), not
 * picked by listen(0): a port from that range can be taken by any outgoing connection between this
 * check and the test server's listen, which is how parallel test files met EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (!bound) continue;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    handedOut.add(port);
    return port;
  }
  throw new Error("no free port below the ephemeral range after 100 tries");
}

/** Resolves once something accepts connections on host:port. */
export async function waitForPort(port: number, timeoutMs = 10_000, host = "127.0.0.1"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port}`);
    await sleep(50);
  }
}

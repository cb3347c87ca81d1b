// Which port each listener uses in the container. The gateway runs as a non-root user, which cannot
// bind ports below 1024, so such a listener listens 10000 higher and the Service maps its port there
// (587 → 10587). The API server cannot see the collisions that rule makes; this refuses them.
import type { SubmissionGatewaySpec } from "../../crds/schema/submission-gateway.ts";
import { RenderError } from "./errors.ts";

/** Name of the /metrics, /livez and /readyz port on the container and the Service. */
export const METRICS_PORT_NAME = "metrics";

const FIRST_UNPRIVILEGED_PORT = 1024;
const PRIVILEGED_PORT_SHIFT = 10_000;

export interface ListenerPort {
  name: string;
  mode: SubmissionGatewaySpec["listeners"][number]["mode"];
  /** The Service's port, which clients connect to. */
  port: number;
  /** The port the gateway binds in the pod. */
  containerPort: number;
}

/** The port a listener binds in the container for Service port `port`. */
export function containerPort(port: number): number {
  return port < FIRST_UNPRIVILEGED_PORT ? port + PRIVILEGED_PORT_SHIFT : port;
}

function describe(port: number): string {
  const bound = containerPort(port);
  return bound === port ? `container port ${bound}` : `container port ${bound} (${port} + 10000)`;
}

/** Every listener's ports, in spec order; throws RenderError when two ports of the pod would collide. */
export function listenerPorts(spec: SubmissionGatewaySpec): ListenerPort[] {
  const metricsPort = spec.observability.metricsPort;
  if (metricsPort < FIRST_UNPRIVILEGED_PORT) {
    throw new RenderError(
      "spec.observability.metricsPort",
      `${metricsPort} is below 1024, which the gateway's non-root user cannot bind`,
    );
  }
  const ports: ListenerPort[] = [];
  spec.listeners.forEach(({ name, mode, port }, index) => {
    const field = `spec.listeners[${index}]`;
    if (name === METRICS_PORT_NAME) {
      throw new RenderError(`${field}.name`, `"${name}" is the name of the metrics port; choose another`);
    }
    // A container port name is an IANA service name, which the API's listener name pattern allows more than.
    if (name.includes("--")) {
      throw new RenderError(`${field}.name`, `"${name}" names a container port, which cannot contain "--"`);
    }
    const bound = containerPort(port);
    if (bound === metricsPort) {
      throw new RenderError(`${field}.port`, `${describe(port)} is spec.observability.metricsPort`);
    }
    const other = ports.findIndex((p) => p.containerPort === bound);
    if (other >= 0) {
      throw new RenderError(
        `${field}.port`,
        `${describe(port)} is also the container port of spec.listeners[${other}] (${ports[other]?.name})`,
      );
    }
    ports.push({ name, mode, port, containerPort: bound });
  });
  return ports;
}

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { containerPort, listenerPorts } from "./ports.ts";
import { gatewayOf, renderErrorOf } from "./test-fixtures.ts";

describe("containerPort", () => {
  it("adds 10000 to ports below 1024 only", () => {
    assert.equal(containerPort(25), 10025);
    assert.equal(containerPort(465), 10465);
    assert.equal(containerPort(587), 10587);
    assert.equal(containerPort(1023), 11023);
    assert.equal(containerPort(1024), 1024);
    assert.equal(containerPort(2525), 2525);
  });
});

describe("listenerPorts", () => {
  it("gives each listener its Service port and container port, in spec order", () => {
    assert.deepEqual(listenerPorts(gatewayOf().spec), [
      { name: "submission", mode: "starttls", port: 587, containerPort: 10587 },
      { name: "submissions", mode: "implicit-tls", port: 465, containerPort: 10465 },
    ]);
  });

  it("refuses two listeners whose container ports collide after the +10000 rule", () => {
    const spec = gatewayOf({
      listeners: [
        { name: "submission", port: 587, mode: "starttls" },
        { name: "high", port: 10587, mode: "starttls" },
      ],
    }).spec;
    const error = renderErrorOf(() => listenerPorts(spec), "spec.listeners[1].port");
    assert.match(
      error.message,
      /container port 10587 is also the container port of spec\.listeners\[0\] \(submission\)/,
    );
  });

  it("refuses a listener whose container port is the metrics port", () => {
    const spec = gatewayOf({ observability: { metricsPort: 10587 } }).spec;
    const error = renderErrorOf(() => listenerPorts(spec), "spec.listeners[0].port");
    assert.match(error.message, /container port 10587 \(587 \+ 10000\) is spec\.observability\.metricsPort/);
  });

  it("refuses a listener port equal to the metrics port, should the API let one through", () => {
    const spec = gatewayOf({ listeners: [{ name: "legacy", port: 2525, mode: "relay-port" }] }).spec;
    spec.observability.metricsPort = 2525;
    renderErrorOf(() => listenerPorts(spec), "spec.listeners[0].port");
  });

  it("refuses a metrics port the non-root gateway cannot bind", () => {
    const spec = gatewayOf({ observability: { metricsPort: 80 } }).spec;
    renderErrorOf(() => listenerPorts(spec), "spec.observability.metricsPort");
  });

  it("refuses listener names a container port cannot have", () => {
    for (const name of ["metrics", "sub--mission"]) {
      const spec = gatewayOf({ listeners: [{ name, port: 587, mode: "starttls" }] }).spec;
      renderErrorOf(() => listenerPorts(spec), "spec.listeners[0].name");
    }
  });
});

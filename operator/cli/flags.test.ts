import assert from "node:assert/strict";
import { test } from "node:test";
import { bindAddress, parseOperatorFlags } from "./flags.ts";

test("defaults", () => {
  const o = parseOperatorFlags(["--gateway-image", "postern:1"]);
  assert.equal(o.gatewayImage, "postern:1");
  assert.equal(o.gatewayImagePullPolicy, "IfNotPresent");
  assert.deepEqual(o.namespaces, []);
  assert.equal(o.leaderElect, true);
  assert.equal(o.leaderElectionId, "postern-operator");
  assert.equal(o.leaseDurationSeconds, 15);
  assert.equal(o.renewDeadlineSeconds, 10);
  assert.equal(o.retryPeriodSeconds, 2);
  assert.equal(o.workers, 4);
  assert.equal(o.resyncSeconds, 600);
});

test("every flag", () => {
  const o = parseOperatorFlags([
    "--kubeconfig=/k",
    "--namespaces=a, b,",
    "--gateway-image=img",
    "--gateway-image-pull-policy=Never",
    "--leader-elect=false",
    "--leader-election-namespace=ops",
    "--leader-election-id=lease",
    "--leader-elect-lease-duration=4s",
    "--leader-elect-renew-deadline=3s",
    "--leader-elect-retry-period=500ms",
    "--metrics-bind-address=127.0.0.1:0",
    "--health-probe-bind-address=:9",
    "--workers=2",
    "--resync=1m",
    "--log-level=debug",
  ]);
  assert.deepEqual(o, {
    kubeconfig: "/k",
    namespaces: ["a", "b"],
    gatewayImage: "img",
    gatewayImagePullPolicy: "Never",
    leaderElect: false,
    leaderElectionNamespace: "ops",
    leaderElectionId: "lease",
    leaseDurationSeconds: 4,
    renewDeadlineSeconds: 3,
    retryPeriodSeconds: 0.5,
    metricsBindAddress: "127.0.0.1:0",
    healthProbeBindAddress: ":9",
    workers: 2,
    resyncSeconds: 60,
    logLevel: "debug",
  });
});

test("the image may come from the environment", () => {
  assert.equal(parseOperatorFlags([], { POSTERN_GATEWAY_IMAGE: "env:1" }).gatewayImage, "env:1");
});

test("bad flags are refused naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [[], /--gateway-image: required/],
    [["--gateway-image=i", "--bogus"], /bogus/],
    [["--gateway-image=i", "--workers=0"], /--workers/],
    [["--gateway-image=i", "--leader-elect=maybe"], /--leader-elect: must be true or false/],
    [["--gateway-image=i", "--gateway-image-pull-policy=Sometimes"], /--gateway-image-pull-policy/],
    [["--gateway-image=i", "--resync=soon"], /--resync: not a duration/],
    [
      ["--gateway-image=i", "--log-level=loud"],
      /--log-level: must be one of trace, debug, info, warn, error/,
    ],
    [["--gateway-image=i", "--leader-elect-lease-duration=5s"], /lease-duration: must be longer than/],
    [["--gateway-image=i", "--leader-elect-retry-period=10s"], /renew-deadline: must be longer than/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseOperatorFlags(argv), message, argv.join(" "));
});

test("bind addresses", () => {
  assert.deepEqual(bindAddress("m", ":8080"), { host: undefined, port: 8080 });
  assert.deepEqual(bindAddress("m", "127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(bindAddress("m", "[::1]:9"), { host: "::1", port: 9 });
  assert.throws(() => bindAddress("metrics-bind-address", "8080"), /--metrics-bind-address/);
});

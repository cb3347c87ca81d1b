import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { labels, objectMeta, selectorLabels } from "./labels.ts";
import { prometheusDuration, serviceMonitor } from "./service-monitor.ts";
import { everything, gatewayOf } from "./test-fixtures.ts";

describe("serviceMonitor", () => {
  it("is absent unless enabled", () => {
    assert.equal(serviceMonitor(gatewayOf()), undefined);
    assert.equal(
      serviceMonitor(gatewayOf({ observability: { serviceMonitor: { enabled: false } } })),
      undefined,
    );
  });

  it("scrapes the Service's metrics port at the interval, carrying the user's labels and ours", () => {
    const gateway = gatewayOf(everything);
    assert.deepEqual(serviceMonitor(gateway), {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { ...objectMeta(gateway, "corp"), labels: { release: "prometheus", ...labels("corp") } },
      spec: {
        selector: { matchLabels: selectorLabels("corp") },
        endpoints: [{ port: "metrics", path: "/metrics", interval: "1m30s" }],
      },
    });
  });

  it("keeps Postern's labels when the user's name the same keys", () => {
    const gateway = gatewayOf({
      observability: {
        serviceMonitor: { enabled: true, labels: { "postern.io/gateway": "other", team: "mail" } },
      },
    });
    assert.deepEqual(serviceMonitor(gateway)?.metadata.labels, { team: "mail", ...labels("corp") });
  });
});

describe("prometheusDuration", () => {
  it("spells durations largest unit first, each once", () => {
    const cases = {
      "30s": "30s",
      "90s": "1m30s",
      "30s1m": "1m30s",
      "1h": "1h",
      "1500ms": "1s500ms",
      "0m15s": "15s",
    };
    for (const [duration, expected] of Object.entries(cases))
      assert.equal(prometheusDuration(duration), expected);
  });
});

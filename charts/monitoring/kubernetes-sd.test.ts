import assert from "node:assert/strict";
import { test } from "node:test";
import { endpointsTargets } from "./kubernetes-sd.ts";

const service = {
  metadata: { name: "corp", namespace: "mail", labels: { "postern.io/gateway": "corp" } },
};
const pod = {
  metadata: { name: "corp-abc", namespace: "mail", uid: "u1", labels: { app: "gw" } },
  spec: {
    nodeName: "node-1",
    containers: [{ name: "gateway", image: "img", ports: [{ name: "metrics", containerPort: 9090 }] }],
  },
  status: {
    podIP: "10.0.0.5",
    hostIP: "192.0.2.1",
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
  },
};
const endpoints = {
  metadata: { name: "corp", namespace: "mail" },
  subsets: [
    {
      addresses: [
        {
          ip: "10.0.0.5",
          nodeName: "node-1",
          targetRef: { kind: "Pod", name: "corp-abc", namespace: "mail" },
        },
      ],
      notReadyAddresses: [{ ip: "10.0.0.6" }],
      ports: [
        { name: "metrics", port: 9090, protocol: "TCP" },
        { name: "submission", port: 10587, protocol: "TCP" },
      ],
    },
  ],
};

test("one target per address and port, with the labels Prometheus' endpoints role gives", () => {
  const groups = endpointsTargets({ endpoints: [endpoints], services: [service], pods: [pod] });
  assert.deepEqual(
    groups.map((g) => g.targets[0]),
    ["10.0.0.5:9090", "10.0.0.6:9090", "10.0.0.5:10587", "10.0.0.6:10587"],
  );
  assert.deepEqual(groups[0]?.labels, {
    __meta_kubernetes_namespace: "mail",
    __meta_kubernetes_endpoints_name: "corp",
    __meta_kubernetes_service_name: "corp",
    __meta_kubernetes_service_label_postern_io_gateway: "corp",
    __meta_kubernetes_service_labelpresent_postern_io_gateway: "true",
    __meta_kubernetes_endpoint_ready: "true",
    __meta_kubernetes_endpoint_port_name: "metrics",
    __meta_kubernetes_endpoint_port_protocol: "TCP",
    __meta_kubernetes_endpoint_node_name: "node-1",
    __meta_kubernetes_endpoint_address_target_kind: "Pod",
    __meta_kubernetes_endpoint_address_target_name: "corp-abc",
    __meta_kubernetes_pod_name: "corp-abc",
    __meta_kubernetes_pod_ip: "10.0.0.5",
    __meta_kubernetes_pod_node_name: "node-1",
    __meta_kubernetes_pod_host_ip: "192.0.2.1",
    __meta_kubernetes_pod_uid: "u1",
    __meta_kubernetes_pod_phase: "Running",
    __meta_kubernetes_pod_ready: "true",
    __meta_kubernetes_pod_label_app: "gw",
    __meta_kubernetes_pod_labelpresent_app: "true",
    __meta_kubernetes_pod_container_name: "gateway",
    __meta_kubernetes_pod_container_image: "img",
    __meta_kubernetes_pod_container_port_name: "metrics",
    __meta_kubernetes_pod_container_port_number: "9090",
    __meta_kubernetes_pod_container_port_protocol: "TCP",
  });
  assert.equal(groups[1]?.labels.__meta_kubernetes_endpoint_ready, "false");
  assert.equal(groups[1]?.labels.__meta_kubernetes_pod_name, undefined, "no targetRef, no pod labels");
  assert.equal(
    groups[2]?.labels.__meta_kubernetes_pod_container_name,
    undefined,
    "no container declares 10587",
  );
});

test("only the namespaces asked for", () => {
  const objects = { endpoints: [endpoints], services: [service], pods: [pod] };
  assert.equal(endpointsTargets(objects, ["other"]).length, 0);
  assert.equal(endpointsTargets(objects, ["mail"]).length, 4);
});

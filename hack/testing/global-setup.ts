// Global setup for the cluster tests:
//   node --test --test-global-setup=hack/testing/global-setup.ts "**/*.cluster-test.ts"
// Starts one real control plane (etcd + kube-apiserver + kube-controller-manager) for the whole run,
// in its own temp dir and on its own free ports, and tears it down afterwards. The test files reach
// it through hack/testing/cluster.ts: the POSTERN_TEST_KUBECONFIG set here is inherited by the
// test processes the runner spawns after globalSetup().
import { type ControlPlane, startControlPlane } from "./control-plane.ts";

let controlPlane: ControlPlane | undefined;

export async function globalSetup(): Promise<void> {
  const started = performance.now();
  controlPlane = await startControlPlane();
  process.env.POSTERN_TEST_KUBECONFIG = controlPlane.kubeconfig;
  process.env.POSTERN_TEST_CLUSTER_DIR = controlPlane.dir;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    `control plane for this run: ${controlPlane.server}, kubeconfig ${controlPlane.kubeconfig} (up in ${seconds}s)\n`,
  );
}

export async function globalTeardown(): Promise<void> {
  await controlPlane?.stop();
  controlPlane = undefined;
}

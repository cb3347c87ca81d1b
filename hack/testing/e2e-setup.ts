// Global setup for the end-to-end tests:
//   node --test --test-global-setup=hack/testing/e2e-setup.ts "**/*.e2e-test.ts"
// Starts a whole single-node cluster for the run (hack/cluster/node-up.sh, in a temp dir on free
// control-plane ports; the node itself is one per machine, so concurrent runs take turns), imports
// the image `make images` built, and installs what every test's operator shares: the CRDs and the
// operator's ClusterRole. Test files reach the cluster through hack/testing/cluster.ts, as cluster
// tests do (POSTERN_TEST_KUBECONFIG), and its state dir through POSTERN_TEST_CLUSTER_DIR.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { operatorManifests } from "../../e2e/testing/system.ts";
import { apply, installCrds } from "../../operator/testing/cluster-objects.ts";
import { type ControlPlane, repoRoot, startControlPlane } from "./control-plane.ts";

const exec = promisify(execFile);
let cluster: ControlPlane | undefined;

export async function globalSetup(): Promise<void> {
  const archive = join(repoRoot, ".cache/images/postern.tar");
  if (!existsSync(archive)) throw new Error(`${archive} is missing: run \`make images\` first`);
  const started = performance.now();
  cluster = await startControlPlane(undefined, { node: true });
  process.env.POSTERN_TEST_KUBECONFIG = cluster.kubeconfig;
  process.env.POSTERN_TEST_CLUSTER_DIR = cluster.dir;
  await exec("bash", [join(repoRoot, "hack/cluster/load-image.sh"), archive], { env: cluster.env });
  await installCrds();
  for (const object of operatorManifests().filter((o) => o.kind === "ClusterRole")) await apply(object);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    `cluster with a node for this run: ${cluster.server}, ${cluster.dir} (up in ${seconds}s)\n`,
  );
}

export async function globalTeardown(): Promise<void> {
  await cluster?.stop();
  cluster = undefined;
}

// The prometheus-operator CRDs the tests validate ServiceMonitors and PrometheusRules against: made by
// hack/tools/monitoring-crds/crds.sh (controller-gen over the pinned API module, cached per machine)
// and installed into the test cluster.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { kubectl } from "./cluster.ts";
import { repoRoot } from "./control-plane.ts";
import { eventually } from "./eventually.ts";

const exec = promisify(execFile);

/** The kinds Postern makes: the chart's and the operator's ServiceMonitors, the chart's PrometheusRule. */
const KINDS = ["servicemonitors", "prometheusrules"];

/** The directory of generated CRD files (built on first use: about a minute from the module proxy). */
export async function monitoringCrdsDir(): Promise<string> {
  const { stdout } = await exec("bash", [join(repoRoot, "hack/tools/monitoring-crds/crds.sh")], {
    timeout: 15 * 60_000,
  });
  return stdout.trim();
}

/** Server-side applies the ServiceMonitor and PrometheusRule CRDs and waits until they are served. */
export async function installMonitoringCrds(): Promise<void> {
  const dir = await monitoringCrdsDir();
  const files = KINDS.flatMap((kind) => ["-f", join(dir, `monitoring.coreos.com_${kind}.yaml`)]);
  const applied = await kubectl(["apply", "--server-side", "--force-conflicts", ...files]);
  if (applied.code !== 0) throw new Error(`kubectl apply of the monitoring CRDs failed: ${applied.stderr}`);
  await eventually(
    "the monitoring CRDs are Established",
    async () => {
      const established = await kubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=30s",
        ...KINDS.map((kind) => `crd/${kind}.monitoring.coreos.com`),
      ]);
      if (established.code !== 0) throw new Error(established.stderr);
      return true;
    },
    60_000,
  );
}

// A real Prometheus for a test: the server hack/tools/prometheus/build.sh builds from the pinned
// module with Kubernetes service discovery (Debian's package has none), with its own temp dir and a
// free port on 127.0.0.1, stopped and removed when the test ends; and its HTTP API's instant query.
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { freePort } from "../../gateway/testing/ports.ts";
import { repoRoot } from "../../hack/testing/control-plane.ts";
import { eventually } from "../../hack/testing/eventually.ts";

const exec = promisify(execFile);

/** What an instant query returned: the error Prometheus gave, or the series' labels. */
export interface QueryResult {
  error?: string;
  series: Record<string, string>[];
}

export interface Prometheus {
  url: string;
  query(expr: string): Promise<QueryResult>;
  /** GET on the HTTP API (`/api/v1/...`): the `data` of a successful answer. */
  api<T>(path: string): Promise<T>;
}

/** The server's path (built on first use: about 5 minutes from the module proxy on 2 cores, then
 *  cached per machine). */
async function prometheusBinary(): Promise<string> {
  const { stdout } = await exec("bash", [join(repoRoot, "hack/tools/prometheus/build.sh")], {
    timeout: 20 * 60_000,
  });
  return stdout.trim();
}

/** Starts Prometheus with `config` (its configuration file's content), once it is ready. */
export async function startPrometheus(t: TestContext, config: Record<string, unknown>): Promise<Prometheus> {
  const binary = await prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), "postern-prometheus-"));
  const port = await freePort();
  const file = join(dir, "prometheus.yml");
  await writeFile(file, stringify(config));
  const child = spawn(
    binary,
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  });
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    await rm(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(`Prometheus ready on ${url}`, async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${log}`);
    return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
  });

  const api = async <T>(path: string): Promise<T> => {
    const body = (await (await fetch(`${url}${path}`)).json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
    return body.data;
  };
  const query = async (expr: string): Promise<QueryResult> => {
    const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== "success") return { error: body.error ?? `HTTP ${response.status}`, series: [] };
    const result = body.data?.result;
    // A scalar or string result is one value without labels.
    if (body.data?.resultType !== "vector" && body.data?.resultType !== "matrix") return { series: [{}] };
    return { series: (result as { metric: Record<string, string> }[]).map((r) => r.metric) };
  };
  return { url, query, api };
}

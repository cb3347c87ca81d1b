// lib.sh's start and wait_for, without a cluster: a component that exits is reported at once, and
// one still starting (whatever its program is called) is waited for, judged by the pid start recorded.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { run } from "../../gateway/testing/run.ts";

const LIB = new URL("./lib.sh", import.meta.url).pathname;

/** Runs `script` in bash after sourcing lib.sh, with a state dir of its own. */
async function withLib(t: TestContext, script: string) {
  const dir = await mkdtemp(join(tmpdir(), "postern-lib-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const started = performance.now();
  const result = await run("bash", ["-c", `source "${LIB}"; ${script}`], {
    env: { ...process.env, POSTERN_CLUSTER_DIR: dir, POSTERN_CLUSTER_TIMEOUT: "20" },
  });
  return { ...result, dir, seconds: (performance.now() - started) / 1000 };
}

test("wait_for reports a component that exited, without waiting out the timeout", async (t) => {
  const result = await withLib(t, `start fake bash -c 'exit 3'; wait_for fake "its readiness" false`);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /fake exited while waiting for its readiness/);
  assert.ok(result.seconds < 10, `took ${result.seconds} s`);
});

test("wait_for waits for a component that is still starting, whatever its program is called", async (t) => {
  const result = await withLib(
    t,
    `start fake bash -c 'sleep 1; exec sleep 30'
     (sleep 2; touch "$cluster_dir/ready") &
     wait_for fake "its ready file" test -f "$cluster_dir/ready"`,
  );
  const pid = Number(await readFile(join(result.dir, "fake.pid"), "utf8"));
  process.kill(pid);
  assert.equal(result.code, 0, result.stderr);
});

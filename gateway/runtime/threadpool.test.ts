import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { threadpoolThreads, useThreadPerCore } from "./threadpool.ts";

describe("useThreadPerCore", () => {
  it("sets one thread per core up to four, and leaves a size the environment chose", () => {
    const env: NodeJS.ProcessEnv = {};
    assert.equal(useThreadPerCore(env, 3), 3);
    assert.equal(env.UV_THREADPOOL_SIZE, "3");
    const large: NodeJS.ProcessEnv = {};
    assert.equal(useThreadPerCore(large, 64), 4);
    assert.equal(large.UV_THREADPOOL_SIZE, "4");
    const chosen = { UV_THREADPOOL_SIZE: "16" };
    assert.equal(useThreadPerCore(chosen, 3), 16);
    assert.equal(chosen.UV_THREADPOOL_SIZE, "16");
    assert.equal(threadpoolThreads({ UV_THREADPOOL_SIZE: "many" }, 2), 2);
  });

  it("takes effect when called first, after the gateway's modules are loaded", async () => {
    // libuv starts its threadpool once; what a process really runs with shows in its thread names.
    const script = `
      import { readdirSync, readFileSync } from "node:fs";
      import { readFile } from "node:fs/promises";
      import { useThreadPerCore } from "./gateway/runtime/threadpool.ts";
      import "./gateway/gateway.ts";
      useThreadPerCore(process.env, 3);
      await readFile("package.json");
      const names = readdirSync("/proc/self/task").map((t) => readFileSync("/proc/self/task/" + t + "/comm", "utf8").trim());
      console.log(names.filter((name) => name === "libuv-worker").length);`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url).pathname,
      env: { ...process.env, UV_THREADPOOL_SIZE: "" },
    });
    assert.equal(stdout.trim(), "3");
  });
});

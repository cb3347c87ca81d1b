import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { generatedFiles } from "./render.ts";

const script = join(import.meta.dirname, "generate.ts");

/** Runs the generator CLI on `root`; resolves with its exit code and output. */
async function generate(root: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, "--root", root, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe("crds/generate.ts", () => {
  let root = "";
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "postern-generate-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("writes the two CRDs and docs/api.md, and --check then passes", async () => {
    assert.equal((await generate(root)).code, 0);
    for (const [path, content] of generatedFiles())
      assert.equal(await readFile(join(root, path), "utf8"), content);
    const check = await generate(root, "--check");
    assert.equal(check.code, 0, check.stderr);
  });

  it("--check exits 1 naming each stale or missing file, and writes nothing", async () => {
    await generate(root);
    await appendFile(join(root, "docs/api.md"), "hand edit\n");
    await rm(join(root, "crds/generated/postern.io_smtpusers.yaml"));
    const check = await generate(root, "--check");
    assert.equal(check.code, 1);
    assert.match(check.stderr, /stale: docs\/api\.md/);
    assert.match(check.stderr, /stale: crds\/generated\/postern\.io_smtpusers\.yaml/);
    assert.doesNotMatch(check.stderr, /submissiongateways/);
    assert.match(await readFile(join(root, "docs/api.md"), "utf8"), /hand edit\n$/);
  });
});

// `node crds/generate.ts` writes the CRD YAML and docs/api.md from the zod schemas;
// `node crds/generate.ts --check` writes nothing and exits 1 naming each file that differs.
// `--root DIR` works on another checkout (the tests use a scratch copy).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generatedFiles } from "./render.ts";

const { values } = parseArgs({
  options: {
    check: { type: "boolean", default: false },
    root: { type: "string", default: resolve(import.meta.dirname, "..") },
  },
});
const files = generatedFiles();

if (values.check) {
  const stale: string[] = [];
  for (const [path, content] of files) {
    const current = await readFile(join(values.root, path), "utf8").catch(() => undefined);
    if (current !== content) stale.push(path);
  }
  for (const path of stale) process.stderr.write(`stale: ${path}\n`);
  if (stale.length > 0) {
    process.stderr.write(
      "The generated files do not match crds/schema: run `make generate` and commit them.\n",
    );
    process.exit(1);
  }
  process.stdout.write(`${files.size} generated files match crds/schema\n`);
} else {
  for (const [path, content] of files) {
    await mkdir(dirname(join(values.root, path)), { recursive: true });
    await writeFile(join(values.root, path), content);
  }
  process.stdout.write(`wrote ${[...files.keys()].join(", ")}\n`);
}

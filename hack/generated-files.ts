// The command behind `make generate` and `make check-generated` for each generator (crds/generate.ts,
// charts/generate.ts): write the files it rendered in memory, or with `--check` write nothing and exit 1
// naming each file that differs. `--root DIR` works on another checkout (the tests use a scratch copy).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

/**
 * `files`: repository-relative path → content; `source`: what they are generated from, and `command`
 * what regenerates them, for messages.
 */
export async function generateCommand(
  files: Map<string, string>,
  source: string,
  command = "make generate",
): Promise<void> {
  const { values } = parseArgs({
    options: {
      check: { type: "boolean", default: false },
      root: { type: "string", default: resolve(import.meta.dirname, "..") },
    },
  });
  if (values.check) {
    const stale: string[] = [];
    for (const [path, content] of files) {
      const current = await readFile(join(values.root, path), "utf8").catch(() => undefined);
      if (current !== content) stale.push(path);
    }
    for (const path of stale) process.stderr.write(`stale: ${path}\n`);
    if (stale.length > 0) {
      process.stderr.write(
        `The generated files do not match ${source}: run \`${command}\` and commit them.\n`,
      );
      process.exit(1);
    }
    process.stdout.write(`${files.size} generated files match ${source}\n`);
  } else {
    for (const [path, content] of files) {
      await mkdir(dirname(join(values.root, path)), { recursive: true });
      await writeFile(join(values.root, path), content);
    }
    process.stdout.write(`wrote ${[...files.keys()].join(", ")}\n`);
  }
}

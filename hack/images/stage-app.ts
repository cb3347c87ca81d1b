// Lays out what the Postern image runs, and nothing else, as the two directories the Containerfile's
// final stage copies to `/` (one layer each):
//   <out>/deps/app/node_modules   the packages package-lock.json marks as production (not dev), as
//                                 npm installed them, without what Node.js never loads from
//                                 node_modules (type declarations, source maps, TypeScript sources,
//                                 docs, native prebuilds for other platforms)
//   <out>/src/app                 the TypeScript modules the two entrypoints import, transitively
//                                 (no tests, no test helpers), and a package.json that makes them ES
//                                 modules
// The Containerfile runs it in its build stage after `npm ci --omit=dev`; hack/images/build.ts runs it
// on this checkout, whose node_modules `make deps` installed from the same lock.
//
//   node hack/images/stage-app.ts <source dir> <out dir>
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** The image's two entrypoints (the operator renders the gateway's; the operator's Deployment its own). */
export const ENTRYPOINTS = ["gateway/cli/postern-gateway.ts", "operator/cli/postern-operator.ts"] as const;

// Static imports and re-exports (`from "./x.ts"`), side-effect imports and dynamic imports with a
// literal relative specifier. The app imports nothing else relatively (a test checks the image runs).
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)"(\.{1,2}\/[^"]+)"/g;

/** Every module the entrypoints load, as paths relative to `root`, sorted. */
export function importClosure(root: string, entrypoints: readonly string[] = ENTRYPOINTS): string[] {
  const seen = new Set<string>();
  const pending = entrypoints.map((e) => resolve(root, e));
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    if (!existsSync(file)) throw new Error(`${relative(root, file)} is imported but does not exist`);
    seen.add(file);
    for (const [, specifier] of readFileSync(file, "utf8").matchAll(RELATIVE_IMPORT)) {
      pending.push(resolve(dirname(file), specifier as string));
    }
  }
  return [...seen].map((f) => relative(root, f)).sort();
}

/** Files Node.js never loads from node_modules. */
function neverLoaded(name: string): boolean {
  return (
    /\.d\.[cm]?ts$/.test(name) ||
    /\.[cm]?ts$/.test(name) || // Node.js refuses to strip types under node_modules
    /\.map$/.test(name) ||
    /\.(md|markdown)$/i.test(name)
  );
}

/** A native prebuild directory (`prebuilds/<platform>-<arch>`) for another platform than this one. */
function otherPlatform(path: string): boolean {
  const match = /(?:^|\/)prebuilds\/([^/]+)$/.exec(path);
  return match !== null && match[1] !== `${process.platform}-${process.arch}`;
}

/** Copies a package's files (not its nested node_modules: those are packages of their own). */
function copyPackage(from: string, to: string, within = ""): number {
  let copied = 0;
  for (const entry of readdirSync(join(from, within), { withFileTypes: true })) {
    const path = join(within, entry.name);
    if (entry.isDirectory()) {
      if (path === "node_modules" || otherPlatform(path)) continue;
      copied += copyPackage(from, to, path);
    } else if (entry.isFile() && !neverLoaded(entry.name)) {
      mkdirSync(join(to, within), { recursive: true });
      copyFileSync(join(from, path), join(to, path));
      copied++;
    }
  }
  return copied;
}

interface LockPackage {
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  link?: boolean;
}

/** The production packages (lock paths like `node_modules/a/node_modules/b`) that are installed. */
export function productionPackages(root: string): string[] {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockPackage>;
  };
  return Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith("node_modules/") && !p.dev && !p.devOptional && !p.link)
    .map(([path]) => path)
    .filter((path) => {
      // An optional dependency for another platform is in the lock but not installed.
      const installed = existsSync(join(root, path, "package.json"));
      if (!installed && !lock.packages[path]?.optional) {
        throw new Error(`${path} is a production dependency but is not installed: run npm ci first`);
      }
      return installed;
    })
    .sort();
}

export function stageApp(source: string, out: string): { modules: number; packages: number } {
  rmSync(out, { recursive: true, force: true });
  const deps = join(out, "deps/app");
  const src = join(out, "src/app");
  const packages = productionPackages(source);
  for (const path of packages) copyPackage(join(source, path), join(deps, path));

  const modules = importClosure(source);
  for (const file of modules) {
    mkdirSync(dirname(join(src, file)), { recursive: true });
    copyFileSync(join(source, file), join(src, file));
  }
  // Node.js treats .ts files as ES modules only under a package.json that says so.
  const manifest = JSON.parse(readFileSync(join(source, "package.json"), "utf8"));
  const { name, version, license } = manifest;
  writeFileSync(
    join(src, "package.json"),
    `${JSON.stringify({ name, version, license, private: true, type: "module" }, null, 2)}\n`,
  );
  return { modules: modules.length, packages: packages.length };
}

if (import.meta.main) {
  const [source, out] = process.argv.slice(2);
  if (source === undefined || out === undefined) {
    process.stderr.write("usage: node hack/images/stage-app.ts <source dir> <out dir>\n");
    process.exit(2);
  }
  const { modules, packages } = stageApp(resolve(source), resolve(out));
  process.stderr.write(`stage-app: ${modules} modules, ${packages} packages -> ${out}\n`);
}

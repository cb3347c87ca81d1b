// Writes an image as a docker-archive (what `docker save` writes and `ctr images import` reads):
// manifest.json, the image config, and one uncompressed tar per layer. No registry, no daemon, no
// builder: GNU tar and SHA-256. Reproducible: entries sorted, owned by root, mtime 0, modes
// normalised, the config's dates at the epoch, so the same files give the same image ID.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  linkSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

/** The parts of an OCI image config a runtime uses. */
export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

export interface ImageArchive {
  /** `sha256:<hex>` of the config: what `ctr images ls` and the kubelet call the image ID. */
  id: string;
  /** Sum of the uncompressed layers, bytes. */
  size: number;
}

const TAR_FLAGS = [
  "--sort=name",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
  "--mtime=@0",
  "--format=gnu",
  // Nobody writes to the image (pods run with a read-only root filesystem): read and search only,
  // except for what is meant to be executable.
  "--mode=u+rwX,go+rX,go-w",
  "--no-acls",
  "--no-xattrs",
  "--no-selinux",
];

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest("hex");
}

/** A layer tar of everything under `root` (paths relative to it), and its digest. */
async function layer(root: string, out: string): Promise<{ digest: string; size: number }> {
  const entries = readdirSync(root).sort();
  execFileSync("tar", ["--create", `--file=${out}`, `--directory=${root}`, ...TAR_FLAGS, "--", ...entries]);
  return { digest: await sha256(out), size: statSync(out).size };
}

/**
 * Writes `out` (a docker-archive tagged `tag`) from layer directories, bottom first. Each directory
 * holds the files of one layer as they appear under the image's `/`.
 */
export async function writeDockerArchive(
  out: string,
  tag: string,
  layerRoots: readonly string[],
  config: ImageConfig,
): Promise<ImageArchive> {
  const work = mkdtempSync(join(dirname(out), ".archive-"));
  try {
    const layers: { digest: string; size: number }[] = [];
    for (const root of layerRoots) {
      const tmp = join(work, `layer-${layers.length}.tar`);
      const built = await layer(root, tmp);
      linkSync(tmp, join(work, `${built.digest}.tar`));
      rmSync(tmp);
      layers.push(built);
    }
    const configJson = JSON.stringify({
      architecture: process.arch === "x64" ? "amd64" : process.arch,
      os: "linux",
      created: "1970-01-01T00:00:00Z",
      config,
      rootfs: { type: "layers", diff_ids: layers.map((l) => `sha256:${l.digest}`) },
    });
    const configDigest = createHash("sha256").update(configJson).digest("hex");
    writeFileSync(join(work, `${configDigest}.json`), configJson);
    writeFileSync(
      join(work, "manifest.json"),
      JSON.stringify([
        { Config: `${configDigest}.json`, RepoTags: [tag], Layers: layers.map((l) => `${l.digest}.tar`) },
      ]),
    );
    const files = ["manifest.json", `${configDigest}.json`, ...new Set(layers.map((l) => `${l.digest}.tar`))];
    execFileSync("tar", ["--create", `--file=${out}`, `--directory=${work}`, ...TAR_FLAGS, "--", ...files]);
    return { id: `sha256:${configDigest}`, size: layers.reduce((sum, l) => sum + l.size, 0) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// A directory laid out the way kubelet writes a Secret, ConfigMap or projected volume (its
// AtomicWriter): the files in a timestamped directory, a `..data` symlink to it, and each visible
// name a symlink through `..data`. A new version is written beside the old one and `..data` renamed
// over, so a reader sees one version or the other, never a mix.
import { mkdir, rename, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

let generation = 0;

/** Writes (or swaps in) one version of a volume; `files` may name files in subdirectories. */
export async function writeVolume(root: string, files: Record<string, string | Buffer>): Promise<void> {
  await mkdir(root, { recursive: true });
  const version = `..${Date.now()}_${++generation}`;
  await mkdir(join(root, version));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, version, name)), { recursive: true });
    await writeFile(join(root, version, name), content);
  }
  const tmpLink = join(root, `..data_tmp_${generation}`);
  await symlink(version, tmpLink);
  await rename(tmpLink, join(root, "..data")); // rename(2) over the old link: the atomic swap
  for (const name of new Set(Object.keys(files).map((f) => f.split("/")[0] as string))) {
    await symlink(join("..data", name), join(root, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
  }
}

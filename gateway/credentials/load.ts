// Reads the credentials from disk: one users file, or every `users-*.yaml` of a directory (the
// operator's shards), plus the optional decoy key. Paths go through kubelet's `..data` symlink; a
// directory is read from one resolved snapshot, so shards are never mixed from two versions.
// Watching and swapping stores is the caller's job.
import { readdir, readFile, realpath } from "node:fs/promises";
import { basename, join } from "node:path";
import { parseDecoyKey } from "./decoy.ts";
import { CredentialStore, type CredentialStoreOptions } from "./store.ts";
import { mergeUsersFiles, parseUsersFile } from "./users-file.ts";

/** The shard files of a credentials directory. */
export const SHARD_FILE = /^users-.+\.yaml$/;

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error);

/** Loads and validates a credentials file; every error message starts with `path`. */
export async function loadCredentialsFile(
  path: string,
  options?: CredentialStoreOptions,
): Promise<CredentialStore> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`${path}: cannot read credentials file: ${errorCode(error)}`);
  }
  return new CredentialStore(parseUsersFile(text, path), options);
}

/** The directory the files of `dir` are read from: its `..data` target as resolved now (a kubelet
 *  volume), or `dir` itself for a layout made by hand. */
export async function credentialsSnapshot(dir: string): Promise<string> {
  try {
    return await realpath(join(dir, "..data"));
  } catch (error) {
    if (errorCode(error) === "ENOENT") return dir;
    throw new Error(`${dir}: cannot resolve ..data: ${errorCode(error)}`);
  }
}

/** An I/O error as a message naming the path, keeping the errno code for the caller's decisions. */
function ioError(what: string, error: unknown): Error {
  const code = errorCode(error);
  return Object.assign(new Error(`${what}: ${code}`), { code });
}

/** The shard files of one snapshot, sorted, as paths inside the snapshot. */
export async function shardFiles(snapshot: string): Promise<string[]> {
  const names = await readdir(snapshot);
  return names
    .filter((name) => SHARD_FILE.test(name))
    .sort()
    .map((name) => join(snapshot, name));
}

async function readShards(dir: string, snapshot: string) {
  const paths = await shardFiles(snapshot).catch((error) => {
    throw ioError(`${dir}: cannot read credentials directory`, error);
  });
  return Promise.all(
    paths.map(async (path) => {
      const source = join(dir, basename(path));
      const text = await readFile(path, "utf8").catch((error) => {
        throw ioError(`${source}: cannot read credentials file`, error);
      });
      return { source, file: parseUsersFile(text, source) };
    }),
  );
}

// Kubelet deletes the old snapshot right after swapping ..data; a read that lost that race starts
// over on the new snapshot (a few times at most: swaps are seconds apart).
const SNAPSHOT_ATTEMPTS = 3;

/** Loads every `users-*.yaml` of `dir` from one snapshot into one store. Errors name the file (as
 *  `dir/<name>`) and the field; a user in two files names both. No shard at all is no users. */
export async function loadCredentialsDir(
  dir: string,
  options?: CredentialStoreOptions,
): Promise<CredentialStore> {
  for (let attempt = 1; ; attempt++) {
    const snapshot = await credentialsSnapshot(dir);
    try {
      return new CredentialStore(mergeUsersFiles(await readShards(dir, snapshot)), options);
    } catch (error) {
      const replaced = errorCode(error) === "ENOENT" && (await credentialsSnapshot(dir)) !== snapshot;
      if (!replaced || attempt === SNAPSHOT_ATTEMPTS) throw error;
    }
  }
}

/** Reads a decoy key file (auth.scramDecoyKeyFile); errors name the file, never its contents. */
export async function loadDecoyKey(path: string): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`${path}: cannot read decoy key: ${errorCode(error)}`);
  }
  try {
    return parseDecoyKey(text);
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

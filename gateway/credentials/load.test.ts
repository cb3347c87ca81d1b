import assert from "node:assert/strict";
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { loadCredentialsDir, loadCredentialsFile, loadDecoyKey } from "./load.ts";

const BCRYPT_SECRET = "{BLF-CRYPT}$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q";

let directory: string;

/** Writes a new version of the volume and swaps `..data` to it, the way kubelet's AtomicWriter does. */
async function publish(version: string, files: Record<string, string>): Promise<void> {
  const versionDirectory = join(directory, `..${version}`);
  await mkdir(versionDirectory);
  for (const [name, text] of Object.entries(files)) await writeFile(join(versionDirectory, name), text);
  await symlink(`..${version}`, join(directory, "..data_tmp"));
  await rename(join(directory, "..data_tmp"), join(directory, "..data"));
}

const usersYaml = (username: string) =>
  stringify({ users: [{ username, senders: [], verifiers: { password: BCRYPT_SECRET } }] });

before(async () => {
  directory = await mkdtemp(join(tmpdir(), "postern-credentials-"));
  await publish("2025_01_01_00_00_00.1", { "users.yaml": usersYaml("alice@example.test") });
  await symlink("..data/users.yaml", join(directory, "users.yaml"));
});
after(() => rm(directory, { recursive: true, force: true }));

describe("loadCredentialsFile", () => {
  it("loads a store through the kubelet symlinks and sees each atomically published version", async () => {
    const path = join(directory, "users.yaml");
    const first = await loadCredentialsFile(path);
    assert.deepEqual(await first.verifyPassword("alice@example.test", "secret"), {
      kind: "ok",
      username: "alice@example.test",
    });

    await publish("2025_01_01_00_01_00.2", { "users.yaml": usersYaml("bob@example.test") });
    const second = await loadCredentialsFile(path);
    assert.equal(second.lookup("alice@example.test"), undefined);
    assert.equal(second.lookup("bob@example.test")?.username, "bob@example.test");
    assert.equal(
      first.lookup("alice@example.test")?.username,
      "alice@example.test",
      "the old store is untouched",
    );
  });

  it("names the file and the field of a schema error", async () => {
    const path = join(directory, "bad.yaml");
    await writeFile(
      path,
      stringify({ users: [{ username: "a@b", senders: [], verifiers: { password: "plaintext" } }] }),
    );
    await assert.rejects(loadCredentialsFile(path), (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`^${path.replaceAll(".", "\\.")}: users\\[0\\]\\.verifiers\\.password: unsupported`),
      );
      assert.doesNotMatch(error.message, /plaintext"/);
      return true;
    });
  });

  it("names the file of invalid YAML", async () => {
    const path = join(directory, "broken.yaml");
    await writeFile(path, "users: [\n");
    await assert.rejects(loadCredentialsFile(path), {
      message: new RegExp(`^${path.replaceAll(".", "\\.")}: invalid YAML at line 2, column 1: `),
    });
  });

  it("names a file that cannot be read", async () => {
    const path = join(directory, "missing.yaml");
    await assert.rejects(loadCredentialsFile(path), {
      message: `${path}: cannot read credentials file: ENOENT`,
    });
  });
});

describe("loadCredentialsDir", () => {
  let volume: string;
  let generation = 0;

  /** A kubelet projected volume: `..<timestamp>` with the files, `..data` → it, a symlink per file. */
  async function project(files: Record<string, string>): Promise<void> {
    const version = `..2025_01_01_00_00_0${++generation}.${generation}`;
    await mkdir(join(volume, version));
    for (const [name, text] of Object.entries(files)) await writeFile(join(volume, version, name), text);
    await symlink(version, join(volume, "..data_tmp"));
    await rename(join(volume, "..data_tmp"), join(volume, "..data"));
    for (const name of Object.keys(files)) {
      await symlink(join("..data", name), join(volume, name)).catch(() => {});
    }
  }

  before(async () => {
    volume = await mkdtemp(join(tmpdir(), "postern-shards-"));
  });
  after(() => rm(volume, { recursive: true, force: true }));

  it("merges every users-*.yaml of the current snapshot, and nothing else", async () => {
    await project({
      "users-00.yaml": usersYaml("alice@example.test"),
      "users-31.yaml": usersYaml("bob@example.test"),
      "users.yaml": usersYaml("not-a-shard@example.test"),
      "scram-decoy.key": Buffer.alloc(32).toString("base64"),
    });
    const store = await loadCredentialsDir(volume);
    assert.equal(store.size, 2);
    assert.equal(store.lookup("BOB@example.test")?.username, "bob@example.test");

    // A shard gone from the new snapshot is gone, though its old symlink still dangles beside it.
    await project({ "users-31.yaml": usersYaml("bob@example.test") });
    const next = await loadCredentialsDir(volume);
    assert.equal(next.lookup("alice@example.test"), undefined);
    assert.equal(next.size, 1);
  });

  it("reads a directory made by hand (no ..data) as it is, and no shard as no users", async () => {
    const plain = await mkdtemp(join(tmpdir(), "postern-plain-"));
    try {
      assert.equal((await loadCredentialsDir(plain)).size, 0);
      await writeFile(join(plain, "users-a.yaml"), usersYaml("carol@example.test"));
      assert.equal(
        (await loadCredentialsDir(plain)).lookup("carol@example.test")?.username,
        "carol@example.test",
      );
    } finally {
      await rm(plain, { recursive: true, force: true });
    }
  });

  it("refuses a user in two shards, naming both files and entries", async () => {
    await project({
      "users-03.yaml": usersYaml("dave@example.test"),
      "users-17.yaml": stringify({
        users: [
          { username: "erin@example.test", senders: [], verifiers: { password: BCRYPT_SECRET } },
          { username: "Dave@Example.test", senders: [], verifiers: { password: BCRYPT_SECRET } },
        ],
      }),
    });
    await assert.rejects(loadCredentialsDir(volume), {
      message: `${volume}/users-17.yaml: users[1].username: duplicate of ${volume}/users-03.yaml: users[0].username (user names are case-insensitive)`,
    });
  });

  it("names the shard and the field of a parse error", async () => {
    await project({
      "users-03.yaml": usersYaml("dave@example.test"),
      "users-04.yaml": stringify({ users: [{ username: "x", senders: [], verifiers: { password: "pw" } }] }),
    });
    await assert.rejects(loadCredentialsDir(volume), {
      message: new RegExp(`^${volume}/users-04\\.yaml: users\\[0\\]\\.verifiers\\.password: unsupported`),
    });
  });

  it("names a directory that cannot be read", async () => {
    const missing = join(volume, "missing");
    await assert.rejects(loadCredentialsDir(missing), {
      message: `${missing}: cannot read credentials directory: ENOENT`,
    });
  });
});

describe("loadDecoyKey", () => {
  it("reads a key and names the file of a bad one, never echoing it", async () => {
    const path = join(directory, "scram-decoy.key");
    await writeFile(path, `${Buffer.alloc(32, 9).toString("base64")}\n`);
    assert.deepEqual(await loadDecoyKey(path), Buffer.alloc(32, 9));
    await writeFile(path, "c2VjcmV0");
    await assert.rejects(loadDecoyKey(path), { message: `${path}: must be base64 of 32 bytes` });
    await assert.rejects(loadDecoyKey(`${path}.gone`), {
      message: `${path}.gone: cannot read decoy key: ENOENT`,
    });
  });
});

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { loadCredentialsFile } from "./load.ts";

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

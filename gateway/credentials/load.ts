// Reads the credentials file from disk. The path goes through kubelet's `..data` symlink, so one read
// sees one consistent version; watching and swapping stores is the caller's job.
import { readFile } from "node:fs/promises";
import { CredentialStore, type CredentialStoreOptions } from "./store.ts";
import { parseUsersFile } from "./users-file.ts";

/** Loads and validates a credentials file; every error message starts with `path`. */
export async function loadCredentialsFile(
  path: string,
  options?: CredentialStoreOptions,
): Promise<CredentialStore> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(
      `${path}: cannot read credentials file: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  return new CredentialStore(parseUsersFile(text, path), options);
}

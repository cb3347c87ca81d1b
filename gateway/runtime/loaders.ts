// Loading each kind of configuration from the directory: policy (gateway.yaml), credentials (the
// users file or shards, and the decoy key) and TLS material. Each loader validates fully and throws a ConfigError naming the
// file and field, so start-up and hot reload share one definition of "a good file".
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { DEFAULT_CREDENTIALS_FILE, type GatewayConfig, GatewayConfigSchema } from "../config/schema.ts";
import { ConfigError, readYamlFile } from "../config/yaml-file.ts";
import {
  credentialsSnapshot,
  loadCredentialsDir,
  loadCredentialsFile,
  loadDecoyKey,
  shardFiles,
} from "../credentials/load.ts";
import { type BearerVerifier, createBearerVerifier } from "../credentials/oauth/bearer-verifier.ts";
import type { CredentialStore } from "../credentials/store.ts";
import { generateSelfSigned, loadTlsMaterial, type TlsFiles, type TlsMaterial } from "../tls/material.ts";

export const CONFIG_FILE = "gateway.yaml";

export type ConfigKind = "policy" | "credentials" | "tls";

export type LoadedTls = TlsMaterial & { notAfter: Date };

export function resolver(dir: string): (path: string) => string {
  return (path) => (isAbsolute(path) ? path : join(dir, path));
}

export function loadPolicy(dir: string): Promise<GatewayConfig> {
  return readYamlFile(join(dir, CONFIG_FILE), GatewayConfigSchema);
}

export function tlsFiles(config: GatewayConfig, dir: string): TlsFiles | undefined {
  if (!config.tls) return undefined;
  const resolve = resolver(dir);
  return {
    certFile: resolve(config.tls.certFile),
    keyFile: resolve(config.tls.keyFile),
    clientCaFile: config.tls.clientCaFile ? resolve(config.tls.clientCaFile) : undefined,
    minVersion: config.tls.minVersion,
  };
}

export async function loadTls(config: GatewayConfig, dir: string): Promise<LoadedTls | undefined> {
  const files = tlsFiles(config, dir);
  if (!files) return undefined;
  if (config.tls?.generateSelfSigned) await generateSelfSigned(files, config.hostname);
  return loadTlsMaterial(files);
}

/** Where the users come from: every shard of a directory, or one file. */
function credentialsSource(config: GatewayConfig, dir: string): { dir: string } | { file: string } {
  const resolve = resolver(dir);
  const { credentialsDir, credentialsFile } = config.auth;
  return credentialsDir !== undefined
    ? { dir: resolve(credentialsDir) }
    : { file: resolve(credentialsFile ?? DEFAULT_CREDENTIALS_FILE) };
}

const decoyKeyFile = (config: GatewayConfig, dir: string) =>
  config.auth.scramDecoyKeyFile === undefined ? [] : [resolver(dir)(config.auth.scramDecoyKeyFile)];

/** The users and the decoy key: one kind, as they live in one projected volume and reload together. */
export async function loadCredentials(config: GatewayConfig, dir: string): Promise<CredentialStore> {
  const source = credentialsSource(config, dir);
  try {
    const [keyFile] = decoyKeyFile(config, dir);
    const options = keyFile === undefined ? {} : { decoyKey: await loadDecoyKey(keyFile) };
    return "dir" in source
      ? await loadCredentialsDir(source.dir, options)
      : await loadCredentialsFile(source.file, options);
  } catch (err) {
    throw err instanceof ConfigError ? err : new ConfigError((err as Error).message);
  }
}

export async function loadBearerVerifier(
  config: GatewayConfig,
  dir: string,
): Promise<BearerVerifier | undefined> {
  const oauth = config.auth.oauth;
  if (!oauth) return undefined;
  let jwks: unknown;
  if (oauth.jwksFile) {
    const path = resolver(dir)(oauth.jwksFile);
    try {
      jwks = JSON.parse(await readFile(path, "utf8"));
    } catch (err) {
      throw new ConfigError(`${path}: auth.oauth.jwksFile: ${(err as Error).message}`);
    }
  }
  return createBearerVerifier({ ...oauth, jwks: jwks as never });
}

/** The files behind each kind, for the watcher (which watches their directories). A credentials
 *  directory is represented by its `..data` link, whose swap is the change to notice. */
export function watchedFiles(config: GatewayConfig, dir: string): Record<ConfigKind, string[]> {
  const tls = tlsFiles(config, dir);
  const source = credentialsSource(config, dir);
  const jwksFile = config.auth.oauth?.jwksFile;
  return {
    // The JWKS file is part of the policy: loaded with it, and reloaded when it changes.
    policy: [join(dir, CONFIG_FILE), ...(jwksFile === undefined ? [] : [resolver(dir)(jwksFile)])],
    credentials: ["dir" in source ? join(source.dir, "..data") : source.file, ...decoyKeyFile(config, dir)],
    tls: tls ? [tls.certFile, tls.keyFile, ...(tls.clientCaFile ? [tls.clientCaFile] : [])] : [],
  };
}

/** The files whose contents make up each kind now: a credentials directory's shards are listed from
 *  its current snapshot, so an added or removed shard changes the fingerprint as an edited one does. */
async function currentFiles(config: GatewayConfig, dir: string): Promise<Record<ConfigKind, string[]>> {
  const files = watchedFiles(config, dir);
  const source = credentialsSource(config, dir);
  if ("dir" in source) {
    // An unreadable directory fingerprints as its ..data link, i.e. as missing.
    const shards = await credentialsSnapshot(source.dir)
      .then(shardFiles)
      .catch(() => []);
    files.credentials = [...shards, ...files.credentials];
  }
  return files;
}

/** A fingerprint of each kind's contents; a kind is reloaded when its fingerprint changed. */
export async function fingerprints(config: GatewayConfig, dir: string): Promise<Record<ConfigKind, string>> {
  const files = await currentFiles(config, dir);
  return {
    policy: await fingerprint(files.policy),
    credentials: await fingerprint(files.credentials),
    // The tls section too: a new minVersion or client CA path applies to the same files.
    tls: `${await fingerprint(files.tls)}:${JSON.stringify(config.tls ?? null)}`,
  };
}

/** Content fingerprint of a set of files; a missing file fingerprints as missing. */
export async function fingerprint(files: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(file).update("\0");
    hash.update(await readFile(file).catch(() => Buffer.from("\0missing\0")));
  }
  return hash.digest("hex");
}

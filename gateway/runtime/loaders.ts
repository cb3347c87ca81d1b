// Loading each kind of configuration from the directory: policy (gateway.yaml), credentials (the
// users file) and TLS material. Each loader validates fully and throws a ConfigError naming the
// file and field, so start-up and hot reload share one definition of "a good file".
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { type GatewayConfig, GatewayConfigSchema } from "../config/schema.ts";
import { ConfigError, readYamlFile } from "../config/yaml-file.ts";
import { loadCredentialsFile } from "../credentials/load.ts";
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

export async function loadCredentials(config: GatewayConfig, dir: string): Promise<CredentialStore> {
  const path = resolver(dir)(config.auth.credentialsFile);
  try {
    return await loadCredentialsFile(path);
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

/** The files behind each kind, for the watcher and for change detection. */
export function watchedFiles(config: GatewayConfig, dir: string): Record<ConfigKind, string[]> {
  const tls = tlsFiles(config, dir);
  return {
    policy: [join(dir, CONFIG_FILE)],
    credentials: [resolver(dir)(config.auth.credentialsFile)],
    tls: tls ? [tls.certFile, tls.keyFile, ...(tls.clientCaFile ? [tls.clientCaFile] : [])] : [],
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

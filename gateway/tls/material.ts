// Loads the serving certificate, key and optional client CA from files (a kubernetes.io/tls Secret
// as cert-manager writes it, mounted). For standalone use a self-signed pair can be generated on
// first start; that uses the openssl CLI because Node.js has no certificate builder of its own.
import { execFile } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { access, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { ConfigError } from "../config/yaml-file.ts";

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  ca?: Buffer | undefined;
  minVersion: "TLSv1.2" | "TLSv1.3";
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile?: string | undefined;
  minVersion: "TLSv1.2" | "TLSv1.3";
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function generateSelfSigned(files: TlsFiles, hostname: string): Promise<void> {
  if ((await exists(files.certFile)) && (await exists(files.keyFile))) return;
  await mkdir(dirname(files.certFile), { recursive: true });
  await mkdir(dirname(files.keyFile), { recursive: true });
  const subjectAltName = `subjectAltName=DNS:${hostname},DNS:localhost,IP:127.0.0.1`;
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  args.push("-keyout", files.keyFile, "-out", files.certFile, "-days", "365");
  args.push("-subj", `/CN=${hostname}`, "-addext", subjectAltName);
  await promisify(execFile)("openssl", args);
}

async function read(path: string, field: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigError(`${path}: cannot read ${field}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** Reads and checks the material: the key must match the certificate, or the load is refused. */
export async function loadTlsMaterial(files: TlsFiles): Promise<TlsMaterial & { notAfter: Date }> {
  const cert = await read(files.certFile, "tls.certFile");
  const key = await read(files.keyFile, "tls.keyFile");
  const ca = files.clientCaFile ? await read(files.clientCaFile, "tls.clientCaFile") : undefined;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError(
      `${files.certFile}: tls.certFile is not a PEM certificate: ${(err as Error).message}`,
    );
  }
  let matches = false;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new ConfigError(
      `${files.keyFile}: tls.keyFile is not a PEM private key: ${(err as Error).message}`,
    );
  }
  if (!matches) throw new ConfigError(`${files.keyFile}: tls.keyFile does not match ${files.certFile}`);
  return { cert, key, ca, minVersion: files.minVersion, notAfter: new Date(x509.validTo) };
}

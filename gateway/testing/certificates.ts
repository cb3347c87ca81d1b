// Test PKI made with the real openssl CLI: a CA, a server certificate for 127.0.0.1/localhost and a
// client certificate (for EXTERNAL) whose subjectAltName email names a user. Made once per process.
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the gateway does not trust. */
  rogueCert: string;
  rogueKey: string;
}

export const CLIENT_CERT_EMAIL = "alice@example.test";

/** openssl req arguments for a fresh P-256 key without a passphrase. */
const NEW_P256_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function issue(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  subj: string,
  ext: string,
) {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, `${ext}\n`);
  await run("openssl", ["req", "-new", ...NEW_P256_KEY, "-keyout", key, "-out", csr, "-subj", subj]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-out",
    cert,
    "-days",
    "2",
    "-extfile",
    extFile,
  ]);
  return { cert, key };
}

/** A self-signed certificate (a CA, or a stand-alone server certificate) with subject CN=`name`. */
export async function selfSigned(dir: string, name: string) {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  await run("openssl", [
    "req",
    "-x509",
    ...NEW_P256_KEY,
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  ]);
  return { cert, key };
}

let pki: Promise<TestPki> | undefined;

export function testPki(): Promise<TestPki> {
  pki ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "postern-pki-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const ca = await selfSigned(dir, "Postern Test CA");
    const rogueCa = await selfSigned(dir, "Rogue CA");
    const server = await issue(
      dir,
      "server",
      ca,
      "/CN=localhost",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    );
    const usage = "extendedKeyUsage=clientAuth";
    const client = await issue(
      dir,
      "client",
      ca,
      "/CN=alice",
      `subjectAltName=email:${CLIENT_CERT_EMAIL}\n${usage}`,
    );
    const rogue = await issue(
      dir,
      "rogue",
      rogueCa,
      "/CN=alice",
      `subjectAltName=email:${CLIENT_CERT_EMAIL}\n${usage}`,
    );
    return {
      dir,
      caCert: ca.cert,
      serverCert: server.cert,
      serverKey: server.key,
      clientCert: client.cert,
      clientKey: client.key,
      rogueCert: rogue.cert,
      rogueKey: rogue.key,
    };
  })();
  return pki;
}

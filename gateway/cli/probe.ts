// `postern-gateway probe`: logs in to a gateway the way a mail client does (connect, STARTTLS, AUTH,
// QUIT) and says whether every step worked. The Helm chart's `helm test` Pod runs it against a
// gateway's Service; nodemailer's verify() is that exact exchange.
import { readFileSync } from "node:fs";
import { createTransport } from "nodemailer";

export interface ProbeOptions {
  host: string;
  port: number;
  /** The name the certificate must carry (SNI too); default: host. */
  servername: string;
  username: string;
  password: string;
  /** PEM CAs to trust; undefined with `insecure`. */
  ca?: string;
  insecure: boolean;
}

export interface ProbeFlags {
  host?: string;
  port?: string;
  servername?: string;
  "username-file"?: string;
  "password-file"?: string;
  "ca-file"?: string;
  insecure?: boolean;
}

/** A Secret's file as kubelet mounts it, without the one trailing newline `echo` would have added. */
const secretFile = (path: string) => readFileSync(path, "utf8").replace(/\r?\n$/, "");

/** The probe's flags as options; throws an Error naming the flag that is missing or wrong. */
export function probeOptions(flags: ProbeFlags): ProbeOptions {
  if (!flags.host) throw new Error("--host: required");
  const port = Number(flags.port ?? "587");
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`--port: must be a port number, not ${flags.port}`);
  }
  if (!flags["username-file"]) throw new Error("--username-file: required");
  if (!flags["password-file"]) throw new Error("--password-file: required");
  if (flags["ca-file"] === undefined && !flags.insecure) {
    throw new Error("--ca-file: required to check the gateway's certificate (or --insecure)");
  }
  if (flags["ca-file"] !== undefined && flags.insecure) throw new Error("--insecure: not with --ca-file");
  const username = secretFile(flags["username-file"]);
  if (!username) throw new Error(`--username-file: ${flags["username-file"]} is empty`);
  const password = secretFile(flags["password-file"]);
  if (!password) throw new Error(`--password-file: ${flags["password-file"]} is empty`);
  return {
    host: flags.host,
    port,
    servername: flags.servername || flags.host,
    username,
    password,
    ca: flags["ca-file"] === undefined ? undefined : readFileSync(flags["ca-file"], "utf8"),
    insecure: flags.insecure ?? false,
  };
}

/** Resolves once the gateway took STARTTLS and the login; rejects with the step's error otherwise. */
export async function probe(options: ProbeOptions): Promise<void> {
  const transport = createTransport({
    host: options.host,
    port: options.port,
    secure: false,
    requireTLS: true,
    auth: { user: options.username, pass: options.password },
    tls: { ca: options.ca, servername: options.servername, rejectUnauthorized: !options.insecure },
    name: "postern-probe",
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  try {
    await transport.verify();
  } finally {
    transport.close();
  }
}

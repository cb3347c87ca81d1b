#!/usr/bin/env -S node --max-semi-space-size=8
// postern-gateway: runs the submission gateway from a configuration directory, prints the verifiers
// for a password so a users file never holds the password itself, or probes a running gateway.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import pino from "pino";
import { stringify } from "yaml";
import { ConfigError } from "../config/yaml-file.ts";
import { type DeriveOptions, deriveVerifiers, verifierNeeds } from "../credentials/derive.ts";
import { SCRAM_MIN_ITERATIONS } from "../credentials/scram-credential.ts";
import { startGateway } from "../gateway.ts";
import { initTracing } from "../observability/tracing.ts";
import { useThreadPerCore } from "../runtime/threadpool.ts";
import { MECHANISM_NAMES } from "../sasl/mechanism.ts";
import { type ProbeFlags, probe, probeOptions } from "./probe.ts";

useThreadPerCore();

const USAGE = `usage:
  postern-gateway --config DIR           run the gateway from DIR/gateway.yaml
  postern-gateway verifiers --username U [--mechanisms LIST] [--scram-iterations N] [--cram-md5] < password-file
                                         print a users.yaml entry with the verifiers the comma-separated
                                         mechanisms need (default: argon2id + SCRAM-SHA-256; --cram-md5
                                         adds CRAM-MD5); N >= ${SCRAM_MIN_ITERATIONS}, default ${SCRAM_MIN_ITERATIONS}
  postern-gateway probe --host H [--port 587] [--servername N] --username-file F --password-file F
                        (--ca-file F | --insecure)
                                         connect, STARTTLS, AUTH and QUIT; exit 0 if all worked, else 1
                                         with the failing step's error`;

const EX_USAGE = 64;

function usageError(message: string): never {
  process.stderr.write(`postern-gateway: ${message}\n`);
  process.exit(EX_USAGE);
}

async function run(dir: string): Promise<void> {
  const logger = pino({ name: "postern-gateway" });
  const stopTracing = await initTracing();
  try {
    const gateway = await startGateway(dir, { logger });
    const stop = (signal: string) => {
      const graceMs = gateway.config.limits.shutdownGraceSeconds * 1000;
      logger.info({ signal, graceMs }, "shutting down");
      // The grace period is a promise to the orchestrator: whatever is still open then is cut.
      setTimeout(() => process.exit(0), graceMs).unref();
      gateway
        .shutdown(graceMs)
        .then(stopTracing)
        .then(() => process.exit(0));
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`postern-gateway: invalid configuration:\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** The verifiers command's flags as DeriveOptions; wrong ones are a usage error. */
function deriveOptions(flags: { mechanisms?: string; "scram-iterations"?: string; "cram-md5"?: boolean }) {
  const text = flags["scram-iterations"] ?? String(SCRAM_MIN_ITERATIONS);
  const scramIterations = Number(text);
  if (!/^\d+$/.test(text) || scramIterations < SCRAM_MIN_ITERATIONS) {
    usageError(`--scram-iterations must be a whole number of at least ${SCRAM_MIN_ITERATIONS} (RFC 7677)`);
  }
  if (flags.mechanisms === undefined) return { scramIterations, cramMd5: flags["cram-md5"] ?? false };
  if (flags["cram-md5"])
    usageError("--cram-md5 goes with the default mechanisms; list CRAM-MD5 in --mechanisms");
  const mechanisms = flags.mechanisms.split(",").map((name) => name.trim().toUpperCase());
  const unknown = mechanisms.filter((name) => !(MECHANISM_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0)
    usageError(`unknown mechanism ${unknown.join(", ")}: expected ${MECHANISM_NAMES.join(", ")}`);
  if (!Object.values(verifierNeeds(mechanisms)).some(Boolean)) {
    usageError(
      "none of these mechanisms checks a stored verifier (PLAIN, LOGIN, SCRAM-SHA-256, CRAM-MD5 do)",
    );
  }
  return { scramIterations, mechanisms };
}

async function printVerifiers(username: string, options: DeriveOptions): Promise<void> {
  const password = readFileSync(0, "utf8").replace(/\r?\n$/, "");
  if (!password) throw new Error("no password on standard input");
  const verifiers = await deriveVerifiers(password, options);
  process.stdout.write(stringify({ users: [{ username, senders: [username], verifiers }] }));
}

/** Exit 0 when the gateway took the login; 1 with the reason when not; 64 for wrong flags. */
async function runProbe(flags: ProbeFlags): Promise<void> {
  let options: ReturnType<typeof probeOptions>;
  try {
    options = probeOptions(flags);
  } catch (error) {
    usageError(`probe: ${(error as Error).message}`);
  }
  const target = `${options.host}:${options.port}`;
  try {
    await probe(options);
    process.stdout.write(`${target}: STARTTLS and AUTH as ${options.username} accepted\n`);
  } catch (error) {
    process.stderr.write(`postern-gateway probe: ${target}: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: "string", short: "c" },
    username: { type: "string" },
    "cram-md5": { type: "boolean" },
    mechanisms: { type: "string" },
    "scram-iterations": { type: "string" },
    host: { type: "string" },
    port: { type: "string" },
    servername: { type: "string" },
    "username-file": { type: "string" },
    "password-file": { type: "string" },
    "ca-file": { type: "string" },
    insecure: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
} else if (positionals[0] === "verifiers" && values.username) {
  await printVerifiers(values.username, deriveOptions(values));
} else if (positionals[0] === "probe" && positionals.length === 1) {
  await runProbe(values);
} else if (positionals.length === 0 && values.config) {
  await run(values.config);
} else {
  process.stderr.write(`${USAGE}\n`);
  process.exit(EX_USAGE);
}

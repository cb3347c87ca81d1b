#!/usr/bin/env node
// postern-gateway: runs the submission gateway from a configuration directory, or prints the
// verifiers for a password so a users file never holds the password itself.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import pino from "pino";
import { stringify } from "yaml";
import { ConfigError } from "../config/yaml-file.ts";
import { deriveVerifiers } from "../credentials/derive.ts";
import { startGateway } from "../gateway.ts";
import { initTracing } from "../observability/tracing.ts";

const USAGE = `usage:
  postern-gateway --config DIR           run the gateway from DIR/gateway.yaml
  postern-gateway verifiers --username U [--cram-md5] < password-file
                                         print a users.yaml entry (argon2id + SCRAM-SHA-256)`;

async function run(dir: string): Promise<void> {
  const logger = pino({ name: "postern-gateway" });
  const stopTracing = initTracing();
  try {
    const gateway = await startGateway(dir, { logger });
    const stop = (signal: string) => {
      logger.info({ signal }, "shutting down");
      gateway
        .shutdown(gateway.config.limits.shutdownGraceSeconds * 1000)
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

async function printVerifiers(username: string, cramMd5: boolean): Promise<void> {
  const password = readFileSync(0, "utf8").replace(/\r?\n$/, "");
  if (!password) throw new Error("no password on standard input");
  const verifiers = await deriveVerifiers(password, { cramMd5 });
  process.stdout.write(stringify({ users: [{ username, senders: [username], verifiers }] }));
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: "string", short: "c" },
    username: { type: "string" },
    "cram-md5": { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
} else if (positionals[0] === "verifiers" && values.username) {
  await printVerifiers(values.username, values["cram-md5"] ?? false);
} else if (positionals.length === 0 && values.config) {
  await run(values.config);
} else {
  process.stderr.write(`${USAGE}\n`);
  process.exit(64);
}

#!/usr/bin/env node
// The benchmark's users, written for both servers from one set of hashes: Postern's users.yaml and
// the anchor's Dovecot passwd-file hold the very same argon2id string for each user, so both sides
// verify at the same cost. One warm user, who logs in over and over, and cold users, each logging in
// once (a fresh set per round). The password comes from BENCH_PASS, never from argv.
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { deriveVerifiers } from "../../gateway/credentials/derive.ts";

/** The cold users of round `round` (1-based), `count` of them. */
export function coldUsers(round: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `cold-${round}-${i + 1}@example.com`);
}

/** The PHC string with its parameters in the order libsodium (so Dovecot) requires, m, t, p; the
 *  parameters, salt and hash stay as they are, and Postern reads either order. Postern writes m, t, p
 *  itself; hashes from elsewhere (node-argon2 wrote m, p, t) may not. */
export function canonicalArgon2id(phc: string): string {
  return phc.replace(/\$((?:[mtp]=\d+,?){3})\$/, (_, params: string) => {
    const value = (key: string) => new RegExp(`${key}=(\\d+)`).exec(params)?.[1];
    return `$m=${value("m")},t=${value("t")},p=${value("p")}$`;
  });
}

/** Both files' text for `hashes` (user name → argon2id PHC string). */
export function userFiles(hashes: ReadonlyMap<string, string>): { postern: string; dovecot: string } {
  const users = [...hashes].map(([username, password]) => ({
    username,
    senders: [username],
    verifiers: { password },
  }));
  return {
    postern: stringify({ users }),
    dovecot: [...hashes].map(([username, hash]) => `${username}:{ARGON2ID}${hash}\n`).join(""),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      warm: { type: "string", default: "alice@example.com" },
      "cold-users": { type: "string", default: "1000" },
      rounds: { type: "string", default: "3" },
    },
  });
  const password = process.env.BENCH_PASS;
  if (!values.out || !password) throw new Error("usage: BENCH_PASS=... bench-users.ts --out DIR");
  const names = [values.warm];
  for (let round = 1; round <= Number(values.rounds); round++) {
    names.push(...coldUsers(round, Number(values["cold-users"])));
  }
  // argon2id runs on libuv's threadpool: a few at a time keep every core busy.
  const hashes = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++] as string;
      const { password: hash } = await deriveVerifiers(password, { mechanisms: ["PLAIN"] });
      hashes.set(name, canonicalArgon2id(hash as string));
    }
  };
  await Promise.all(Array.from({ length: availableParallelism() * 2 }, worker));
  const subset = (keep: (name: string) => boolean) =>
    new Map(names.filter(keep).map((n) => [n, hashes.get(n) as string]));
  const files = userFiles(subset(() => true));
  await writeFile(join(values.out, "users.yaml"), files.postern);
  await writeFile(join(values.out, "dovecot-users"), files.dovecot);
  // The gateways that measure memory carry only the users they serve, so their RSS is the workload's.
  await writeFile(join(values.out, "users-warm.yaml"), userFiles(subset((n) => n === values.warm)).postern);
  const round1 = new Set(coldUsers(1, Number(values["cold-users"])));
  const large = subset((n) => n === values.warm || round1.has(n));
  await writeFile(join(values.out, "users-round-1.yaml"), userFiles(large).postern);
}

if (import.meta.main) await main();

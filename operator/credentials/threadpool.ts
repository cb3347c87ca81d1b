// libuv's threadpool size for the operator. Each derivation runs argon2id and PBKDF2 side by side
// (two threads), and the pool runs availableParallelism() of them at once; libuv's default of 4
// threads would make the derivations queue behind each other and file and DNS work queue behind
// them. So: two per derivation slot plus libuv's default 4 for everything else.
//
// libuv reads UV_THREADPOOL_SIZE once, when its threadpool first starts (at the first async fs,
// crypto, zlib or dns.lookup call). The operator CLI (operator/cli/postern-operator.ts) must call
// ensureThreadpoolSize() as its first statement, before anything it runs touches the threadpool;
// a container may also set the variable in its environment, which this then leaves alone if larger.
import { availableParallelism } from "node:os";

export function threadpoolSize(parallelism: number = availableParallelism()): number {
  return Math.min(2 * parallelism + 4, 1024); // libuv's maximum
}

/** Raises UV_THREADPOOL_SIZE in `env` to threadpoolSize() unless it is already at least that;
 *  returns the size in effect from now on. */
export function ensureThreadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const wanted = threadpoolSize();
  const current = Number(env.UV_THREADPOOL_SIZE);
  if (Number.isInteger(current) && current >= wanted) return current;
  env.UV_THREADPOOL_SIZE = String(wanted);
  return wanted;
}

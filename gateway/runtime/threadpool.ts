// libuv's threadpool for the gateway: one thread per core up to libuv's default of four, unless
// UV_THREADPOOL_SIZE says otherwise. Its main work here is argon2id, which password-hash.ts lets
// queue at most two checks beyond the threads: queued in libuv, the next check starts the moment a
// thread is free (handed out from the event loop instead, threads sat idle until the loop got round
// to it), and file and DNS work waits behind at most those two. Cold logins on two cores (hack/bench's
// load generator, every login a new user), libuv's default four threads and no limit against this:
// 105–106 against 124–125 logins/s, p99 128–129 against 103–108 ms, and about a sixth less CPU.
// Never more than four: on a large node the core count says nothing of the pod's CPU limit, and each
// check holds 19 MiB.
//
// libuv reads UV_THREADPOOL_SIZE once, when its threadpool starts (the first async fs, crypto, zlib
// or dns.lookup call): the CLI calls useThreadPerCore as its first statement; loading modules does
// not start the threadpool.
import { availableParallelism } from "node:os";

const LIBUV_DEFAULT = 4;

/** The threadpool size the gateway runs with: UV_THREADPOOL_SIZE when set, else one per core up to four. */
export function threadpoolThreads(
  env: NodeJS.ProcessEnv = process.env,
  cores = availableParallelism(),
): number {
  const explicit = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(explicit) && explicit > 0 ? explicit : Math.min(cores, LIBUV_DEFAULT);
}

/** Sets UV_THREADPOOL_SIZE in `env` to threadpoolThreads() (the environment's own choice stays); returns it. */
export function useThreadPerCore(
  env: NodeJS.ProcessEnv = process.env,
  cores = availableParallelism(),
): number {
  const threads = threadpoolThreads(env, cores);
  env.UV_THREADPOOL_SIZE = String(threads);
  return threads;
}

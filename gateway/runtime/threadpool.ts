// libuv's threadpool for the gateway: one thread per core, unless UV_THREADPOOL_SIZE says otherwise.
// Its main work here is argon2id, which password-hash.ts lets queue at most two checks beyond the
// threads: queued in libuv, the next check starts the moment a thread is free (handed out from the
// event loop instead, threads sat idle until the loop got round to it), and file and DNS work waits
// behind at most those two. Cold logins on two cores (hack/bench's load generator, every login a new
// user), libuv's default four threads and no limit against this: 105–106 against 124–125 logins/s,
// p99 128–129 against 103–108 ms, and about a sixth less CPU.
//
// libuv reads UV_THREADPOOL_SIZE once, when its threadpool starts (the first async fs, crypto, zlib
// or dns.lookup call): the CLI calls this as its first statement; loading modules does not start it.
import { availableParallelism } from "node:os";

/** Sets UV_THREADPOOL_SIZE in `env` to the number of cores unless it is set already; returns the
 *  size in effect from now on. */
export function useThreadPerCore(
  env: NodeJS.ProcessEnv = process.env,
  cores = availableParallelism(),
): number {
  const explicit = Number(env.UV_THREADPOOL_SIZE);
  if (Number.isInteger(explicit) && explicit > 0) return explicit;
  env.UV_THREADPOOL_SIZE = String(cores);
  return cores;
}

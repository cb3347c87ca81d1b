// bcrypt and SHA512-CRYPT checks on a worker thread. bcryptjs and unixcrypt compute in JavaScript: on
// the event loop a cost-10 bcrypt check held every connection for some 60 ms, and its own reply came
// measurably later than an unknown user's (gateway/smtp/auth-timing.test.ts), padding notwithstanding.
// One worker, created on first use, keeping the process alive only while a check is under way;
// checks queue in order, as they did on the event loop, so the capped costs (password-hash.ts) still
// bound what a client can ask for.
import { Worker } from "node:worker_threads";
import type { MigrationCheck } from "./migration-hash-worker.ts";

type Pending = { resolve(ok: boolean): void; reject(error: Error): void };

let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 0;

function started(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL("./migration-hash-worker.ts", import.meta.url));
  w.unref();
  w.on("message", ({ id, ok, error }: { id: number; ok?: boolean; error?: string }) => {
    const waiting = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) w.unref();
    if (error !== undefined) waiting?.reject(new Error(error));
    else waiting?.resolve(ok === true);
  });
  // A worker that died fails what it held; the next check starts a new one.
  const fail = (error: Error) => {
    worker = undefined;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  w.on("error", fail);
  w.on("exit", (code) => fail(new Error(`password check worker exited with code ${code}`)));
  worker = w;
  return w;
}

/** Verifies `password` against a bcrypt or SHA512-CRYPT digest on the worker thread. */
export function verifyOnWorker(
  scheme: MigrationCheck["scheme"],
  digest: string,
  password: string,
): Promise<boolean> {
  const id = nextId++;
  const check: MigrationCheck = { id, scheme, digest, password };
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    const w = started();
    w.ref();
    w.postMessage(check);
  });
}

// At most `limit` tasks under way; the rest wait in order of arrival. Used where costly work runs on
// libuv's threadpool (argon2id in the gateway, the operator's derivations): unbounded, that work
// would queue there in front of every file and DNS operation, and memory-hard work run on more
// threads than there are cores only makes each run slower.

export class ConcurrencyLimit {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  readonly limit: number;

  constructor(limit: number) {
    if (!(Number.isInteger(limit) && limit > 0))
      throw new RangeError(`concurrency limit ${limit}: expected 1 or more`);
    this.limit = limit;
  }

  /** Tasks under way. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active < this.limit) this.#active++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

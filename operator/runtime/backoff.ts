// Exponential backoff with jitter for reconnects and retries: initial * 2^attempt, capped, then
// spread over [d/2, d] so many clients that failed together do not retry together.
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** The delay before retry number `attempt` (0-based). `random` in [0, 1). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: number = Math.random(),
): number {
  const ceiling = Math.min(options.initialMs * 2 ** attempt, options.maxMs);
  return ceiling / 2 + (ceiling / 2) * random;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

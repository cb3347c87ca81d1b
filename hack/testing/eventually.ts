// Polls until a probe yields something: what every test against a real, eventually consistent
// system (API server, kubelet, a reloading gateway) waits with. A probe that throws counts as "not
// yet", and its last error is in the timeout's message.
import { setTimeout as sleep } from "node:timers/promises";

export async function eventually<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

/** A boolean check as a probe for eventually(). */
export const when = (check: () => boolean | Promise<boolean>) => async () =>
  (await check()) ? true : undefined;

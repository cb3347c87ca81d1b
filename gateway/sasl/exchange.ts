// The lifecycle every exchange shares, so no mechanism has to get it right on its own: a finished
// exchange (success or failure) stays finished, and a step that overlaps a pending one is refused.
import type { SaslExchange, SaslStep } from "./mechanism.ts";

type Failure = Extract<SaslStep, { kind: "failure" }>;

/** A failure step; `username` is the name the client gave, for brute-force accounting. */
export function failure(reason: Failure["reason"], username?: string): Failure {
  return username === undefined ? { kind: "failure", reason } : { kind: "failure", reason, username };
}

/**
 * Wraps a mechanism's step function. Backend errors propagate to the driver (which answers 454 and
 * logs them) but still end the exchange, so a half-run exchange can never be resumed.
 */
export function guardedExchange(step: (response: Buffer | undefined) => Promise<SaslStep>): SaslExchange {
  let state: "ready" | "busy" | "done" = "ready";
  return {
    async step(response) {
      if (state !== "ready") return failure("malformed");
      state = "busy";
      try {
        const result = await step(response);
        state = result.kind === "challenge" ? "ready" : "done";
        return result;
      } catch (error) {
        state = "done";
        throw error;
      }
    },
  };
}

/**
 * For client-first mechanisms (RFC 4422 §5): when the client sent no initial response, the server
 * sends an empty challenge and the client's answer becomes the first response.
 */
export function clientFirstExchange(step: (response: Buffer) => Promise<SaslStep>): SaslExchange {
  let first = true;
  return guardedExchange(async (response) => {
    const isFirst = first;
    first = false;
    if (response !== undefined) return step(response);
    return isFirst ? { kind: "challenge", data: Buffer.alloc(0) } : failure("malformed");
  });
}

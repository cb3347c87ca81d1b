// Per-user message counts, opt-in (http.perUserMetrics). The label is the user's canonical name from
// the credentials file, so the series are bounded by the users file; series of users that left the
// file are removed when the credentials reload, so the bound holds over time too.
import type { ListenerRuntime } from "../smtp/listener-runtime.ts";
import type { Metrics } from "./metrics.ts";

export type UserMessageResult = "accepted" | "rejected" | "deferred";

/** `user` is the canonical name of the identity the message was sent for, as the users file has it. */
export function countUserMessage(rt: ListenerRuntime, user: string, result: UserMessageResult) {
  if (rt.config().http.perUserMetrics) rt.metrics.userMessages.inc({ user, result });
}

/** Drops the series of users `exists` no longer knows. */
export async function pruneUserSeries(
  metrics: Metrics,
  exists: (username: string) => boolean,
): Promise<void> {
  const { values } = await metrics.userMessages.get();
  for (const { labels } of values) {
    if (typeof labels.user === "string" && !exists(labels.user)) metrics.userMessages.remove(labels);
  }
}

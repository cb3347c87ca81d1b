// Per-user send limits, as written in gateway.yaml (the gateway's default) and in the users file
// (a user's override). One schema for both so they cannot drift.
import { z } from "zod";

export const RateLimitSchema = z.strictObject({
  /** Messages accepted per window; absent = unlimited. */
  messages: z.number().int().min(1).optional(),
  /** Recipients accepted per window, summed over messages; absent = unlimited. */
  recipients: z.number().int().min(1).optional(),
  windowSeconds: z.number().int().min(1).max(86_400).default(3600),
});

export type RateLimit = z.infer<typeof RateLimitSchema>;

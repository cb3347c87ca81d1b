// An SmtpUser's spec as a users-file entry (everything but the verifiers), in the users file's own
// shape: allowedSenders are the senders, allowedSourceRanges the allowed CIDRs, and the rate limit's
// duration window becomes whole seconds.
import { durationMilliseconds } from "../../crds/schema/duration.ts";
import type { SmtpUserSpec } from "../../crds/schema/smtp-user.ts";
import type { UsersFileInput } from "../../gateway/credentials/users-file.ts";

export type ShardUser = UsersFileInput["users"][number];
type RateLimitInput = NonNullable<ShardUser["rateLimit"]>;

export function usersFileRateLimit(limit: NonNullable<SmtpUserSpec["rateLimit"]>): RateLimitInput {
  return {
    ...(limit.messages !== undefined && { messages: limit.messages }),
    ...(limit.recipients !== undefined && { recipients: limit.recipients }),
    windowSeconds: durationMilliseconds(limit.window) / 1000,
  };
}

export function usersFileEntry(
  username: string,
  spec: SmtpUserSpec,
  verifiers: ShardUser["verifiers"],
): ShardUser {
  return {
    username,
    disabled: spec.disabled,
    senders: spec.allowedSenders,
    allowedCidrs: spec.allowedSourceRanges ?? [],
    ...(spec.rateLimit && { rateLimit: usersFileRateLimit(spec.rateLimit) }),
    verifiers,
  };
}

// A SaslBackend that asks the brute-force throttle before checking any secret of a user: the attempt
// waits out the penalty of every scope it falls under (so guessing is slowed however the client gets its
// answer, even by hanging up early), or is refused at once when another attempt of that scope is still
// under way. The wait comes before the check, so the right password costs a locked-out user only time.
import type { SaslBackend } from "../sasl/mechanism.ts";

/** Another attempt of the same penalized scope is under way: 454, nothing checked, nothing counted. */
export class AuthThrottled extends Error {
  override name = "AuthThrottled";
}

/** `enter(username)` resolves when the attempt may proceed, or rejects with AuthThrottled. */
export function throttledBackend(
  backend: SaslBackend,
  enter: (username: string) => Promise<void>,
): SaslBackend {
  return {
    ...backend,
    verifyPassword: async (username, password) => {
      await enter(username);
      return backend.verifyPassword(username, password);
    },
    scramCredential: async (username) => {
      await enter(username);
      return backend.scramCredential(username);
    },
    cramMd5Secret: async (username) => {
      await enter(username);
      return backend.cramMd5Secret(username);
    },
    verifyBearerToken: async (token, claimedUser) => {
      if (claimedUser !== "") await enter(claimedUser);
      return backend.verifyBearerToken(token, claimedUser);
    },
  };
}

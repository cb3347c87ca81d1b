// CRAM-MD5 (RFC 2195): the server sends a unique challenge, the client answers
// `user SP hex(HMAC-MD5(secret, challenge))`. Server-first, so an initial response is a protocol
// error (RFC 4954 §4).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { decodeIdentity } from "./client-text.ts";
import { failure, guardedExchange } from "./exchange.ts";
import type { SaslMechanism, SaslStep } from "./mechanism.ts";

const DIGEST_HEX = /^[0-9a-f]{32}$/;
const DIGEST_CHARS = 32;

/** RFC 2195 §2: a msg-id style string that is never repeated. */
function randomChallenge(serverName: string): string {
  return `<${randomBytes(16).toString("hex")}.${Date.now()}@${serverName}>`;
}

/** `challenge` is injectable for tests (RFC 2195's worked example); production uses the default. */
export function createCramMd5(options: { challenge?: (serverName: string) => string } = {}): SaslMechanism {
  const makeChallenge = options.challenge ?? randomChallenge;
  return {
    name: "CRAM-MD5",
    plaintext: false,
    start(context, backend) {
      let challenge: Buffer | undefined;
      return guardedExchange(async (response): Promise<SaslStep> => {
        if (challenge === undefined) {
          if (response !== undefined) return failure("malformed");
          challenge = Buffer.from(makeChallenge(context.serverName));
          return { kind: "challenge", data: challenge };
        }
        if (response === undefined) return failure("malformed");
        // The digest has a fixed length, so the split is at the last space: names may contain spaces.
        const separator = response.length - DIGEST_CHARS - 1;
        const digestHex = response.subarray(separator + 1).toString("latin1");
        if (separator < 1 || response[separator] !== 0x20 || !DIGEST_HEX.test(digestHex)) {
          return failure("malformed");
        }
        const username = decodeIdentity(response.subarray(0, separator));
        if (username === undefined) return failure("malformed");
        const lookup = await backend.cramMd5Secret(username);
        if (lookup.kind === "unavailable") return failure("unavailable", username);
        // Unknown users cost the same HMAC as known ones, so timing does not tell them apart.
        const key = lookup.kind === "found" ? lookup.secret : randomBytes(32);
        const expected = createHmac("md5", key).update(challenge).digest();
        const matches = timingSafeEqual(expected, Buffer.from(digestHex, "hex"));
        return matches && lookup.kind === "found"
          ? { kind: "success", username }
          : failure("invalid", username);
      });
    },
  };
}

export const cramMd5 = createCramMd5();

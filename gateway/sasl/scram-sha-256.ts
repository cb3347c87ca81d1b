// SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash), server side. Hand-written: smtp-server does not
// implement it and no well-kept npm package provides the server side of SCRAM.
//
//   C: gs2-header n=user,r=cnonce[,ext]     S: r=cnonce+snonce,s=salt,i=iterations
//   C: c=base64(gs2-header),r=cnonce+snonce[,ext],p=proof     S: v=server-signature
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { saslprep } from "@mongodb-js/saslprep";
import { authorize } from "./authorization.ts";
import { checkIdentity, decodeUtf8 } from "./client-text.ts";
import { clientFirstExchange, failure } from "./exchange.ts";
import { decodeSaslname, parseGs2Header } from "./gs2-header.ts";
import type { SaslBackend, SaslMechanism, SaslStep, ScramCredential } from "./mechanism.ts";

const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/; // RFC 5802 "printable": visible ASCII except ","
const EXTENSION = /^[A-Za-z]=[^,]+$/;
const PROOF_OCTETS = 32;

interface ClientFirst {
  gs2Header: string;
  authzid: string;
  username: string;
  clientNonce: string;
  bare: string;
}

/** RFC 5802 §5.1: SASLprep the name as a query string; a name it rejects or empties is malformed. */
function prepareUsername(saslname: string): string | undefined {
  const decoded = decodeSaslname(saslname);
  if (decoded === undefined) return undefined;
  try {
    return checkIdentity(saslprep(decoded, { allowUnassigned: true }));
  } catch {
    return undefined;
  }
}

function parseClientFirst(message: Buffer): ClientFirst | { error: "malformed" | "invalid" } {
  const text = decodeUtf8(message);
  const gs2 = text === undefined ? undefined : parseGs2Header(text);
  if (gs2 === undefined) return { error: "malformed" };
  if (gs2.channelBinding) return { error: "invalid" };
  // A leading m= (a mandatory extension, none defined yet) fails the n= check: RFC 5802 says refuse it.
  const [user = "", nonce = "", ...extensions] = gs2.rest.split(",");
  const username = user.startsWith("n=") ? prepareUsername(user.slice(2)) : undefined;
  const clientNonce = nonce.slice(2);
  if (username === undefined || !nonce.startsWith("r=") || !NONCE.test(clientNonce))
    return { error: "malformed" };
  if (!extensions.every((extension) => EXTENSION.test(extension))) return { error: "malformed" };
  return { gs2Header: gs2.header, authzid: gs2.authzid, username, clientNonce, bare: gs2.rest };
}

interface ClientFinal {
  channelBinding: string;
  nonce: string;
  withoutProof: string;
  proof: Buffer;
}

/** Undefined when malformed. */
function parseClientFinal(message: Buffer): ClientFinal | undefined {
  const text = decodeUtf8(message);
  const attributes = text?.split(",") ?? [];
  const [binding = "", nonce = ""] = attributes;
  const proof = attributes.at(-1) ?? "";
  const extensions = attributes.slice(2, -1);
  if (text === undefined || attributes.length < 3 || !binding.startsWith("c=") || !nonce.startsWith("r=")) {
    return undefined;
  }
  if (!proof.startsWith("p=") || !extensions.every((extension) => EXTENSION.test(extension))) {
    return undefined;
  }
  const proofBytes = Buffer.from(proof.slice(2), "base64");
  // Re-encoding rejects the non-canonical base64 that Node's lenient decoder would accept.
  if (proofBytes.length !== PROOF_OCTETS || proofBytes.toString("base64") !== proof.slice(2)) {
    return undefined;
  }
  return {
    channelBinding: binding.slice(2),
    nonce: nonce.slice(2),
    withoutProof: text.slice(0, text.length - proof.length - 1),
    proof: proofBytes,
  };
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** RFC 5802 §3: recover ClientKey from the proof and check that it hashes to StoredKey. */
function proofMatches(credential: ScramCredential, authMessage: string, proof: Buffer): boolean {
  const clientSignature = hmac(credential.storedKey, authMessage);
  const clientKey = Buffer.alloc(PROOF_OCTETS);
  for (let i = 0; i < PROOF_OCTETS; i++) clientKey[i] = (proof[i] ?? 0) ^ (clientSignature[i] ?? 0);
  const storedKey = createHash("sha256").update(clientKey).digest();
  return storedKey.length === credential.storedKey.length && timingSafeEqual(storedKey, credential.storedKey);
}

interface AwaitingFinal {
  first: ClientFirst;
  credential: ScramCredential;
  nonce: string;
  serverFirst: string;
}

function verifyClientFinal(backend: SaslBackend, pending: AwaitingFinal, message: Buffer): SaslStep {
  const { first, credential } = pending;
  const final = parseClientFinal(message);
  if (final === undefined) return failure("malformed", first.username);
  // c= must carry the very gs2 header of the first message (a downgrade check), r= the full nonce.
  const expectedBinding = Buffer.from(first.gs2Header).toString("base64");
  if (final.channelBinding !== expectedBinding || final.nonce !== pending.nonce) {
    return failure("invalid", first.username);
  }
  const authMessage = `${first.bare},${pending.serverFirst},${final.withoutProof}`;
  if (!proofMatches(credential, authMessage, final.proof)) return failure("invalid", first.username);
  const step = authorize(backend, first.username, first.authzid, first.username);
  if (step.kind !== "success") return step;
  const serverSignature = hmac(credential.serverKey, authMessage).toString("base64");
  return { ...step, finalData: Buffer.from(`v=${serverSignature}`) };
}

/** `serverNonce` is injectable for tests (RFC 7677's worked example); production uses the default. */
export function createScramSha256(options: { serverNonce?: () => string } = {}): SaslMechanism {
  const serverNonce = options.serverNonce ?? (() => randomBytes(24).toString("base64"));
  return {
    name: "SCRAM-SHA-256",
    plaintext: false,
    start(_context, backend) {
      let pending: AwaitingFinal | undefined;
      return clientFirstExchange(async (message): Promise<SaslStep> => {
        if (pending !== undefined) return verifyClientFinal(backend, pending, message);
        const first = parseClientFirst(message);
        if ("error" in first) return failure(first.error);
        // Unknown users get a decoy credential from the backend: same round trip, fails at the proof.
        const lookup = await backend.scramCredential(first.username);
        if (lookup.kind === "unavailable") return failure("unavailable", first.username);
        const nonce = first.clientNonce + serverNonce();
        const { salt, iterations } = lookup.credential;
        const serverFirst = `r=${nonce},s=${salt.toString("base64")},i=${iterations}`;
        pending = { first, credential: lookup.credential, nonce, serverFirst };
        return { kind: "challenge", data: Buffer.from(serverFirst) };
      });
    },
  };
}

export const scramSha256 = createScramSha256();

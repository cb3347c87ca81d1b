// The GS2 header (RFC 5801 §4) that starts SCRAM's and OAUTHBEARER's first message:
// `cbind-flag "," [ "a=" saslname ] ","`, and the saslname escaping (RFC 5802 §5.1) SCRAM reuses.
import { checkIdentity } from "./client-text.ts";

export interface Gs2Header {
  /** The header exactly as sent; SCRAM's client-final echoes it in `c=`. */
  header: string;
  /** `p=`: the client insists on channel binding, which Postern never offers (no -PLUS mechanism). */
  channelBinding: boolean;
  /** Decoded authorization identity, "" when absent. */
  authzid: string;
  /** What follows the header. */
  rest: string;
}

const HEADER = /^(n|y|p=[A-Za-z0-9.-]+),(?:a=([^,]*))?,/;

/** Undefined when malformed, including an authzid that is not a safe identity. */
export function parseGs2Header(message: string): Gs2Header | undefined {
  const match = HEADER.exec(message);
  if (match === null) return undefined;
  const [header, flag = "", name] = match;
  const authzid = name === undefined ? "" : decodeSaslname(name);
  if (authzid === undefined || (name !== undefined && checkIdentity(authzid) === undefined)) return undefined;
  return { header, channelBinding: flag.startsWith("p="), authzid, rest: message.slice(header.length) };
}

/** `=2C` is ",", `=3D` is "="; any other "=" (and an empty name) is malformed. */
export function decodeSaslname(name: string): string | undefined {
  if (name === "" || /=(?!2C|3D)/.test(name)) return undefined;
  return name.replace(/=(2C|3D)/g, (code) => (code === "=2C" ? "," : "="));
}

// Decoding of the text fields clients send. Identities end up in logs, Received headers and policy
// lookups, so anything that could forge a line or hide characters there is refused here, once.

/** RFC 4616 §2 asks for at least 255 octets; longer names are accepted up to this bound. */
export const MAX_IDENTITY_OCTETS = 1024;
export const MAX_PASSWORD_OCTETS = 1024;

// Control characters (NUL, CR, LF, ...), invisible format characters (bidi overrides, zero-width)
// and Unicode line/paragraph separators: the ways a name can inject or disguise a line.
const UNSAFE_IN_IDENTITY = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strict UTF-8 (no replacement characters, no overlong forms or surrogates); undefined when invalid. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The identity itself when it is non-empty, within bounds and free of unsafe characters. */
export function checkIdentity(text: string): string | undefined {
  if (text === "" || Buffer.byteLength(text) > MAX_IDENTITY_OCTETS) return undefined;
  return UNSAFE_IN_IDENTITY.test(text) ? undefined : text;
}

export function decodeIdentity(bytes: Uint8Array): string | undefined {
  const text = decodeUtf8(bytes);
  return text === undefined ? undefined : checkIdentity(text);
}

/** RFC 4616 passwd: 1*UTF8-SAFE, i.e. non-empty UTF-8 without NUL. The password is never logged. */
export function decodePassword(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0 || bytes.length > MAX_PASSWORD_OCTETS || bytes.includes(0)) return undefined;
  return decodeUtf8(bytes);
}

// SASL EXTERNAL: which user a verified client certificate stands for. The certificate names candidates
// (its subject CN, or its email subjectAltNames); a candidate counts only if it is a known, enabled user,
// and a certificate that names two different users identifies nobody.
import type { PeerCertificate } from "node:tls";
import type { CredentialStore } from "./store.ts";

export type CertificateField = "subject.CN" | "subjectAltName.email";
export const DEFAULT_CERTIFICATE_FIELD: CertificateField = "subjectAltName.email";

export interface AltName {
  type: string;
  value: string;
}

/**
 * Parses Node's `subjectaltname` text ("DNS:x, email:a@b, IP Address:192.0.2.1"). Node writes a value
 * that contains a comma, quote, backslash or control character as a JSON string (CVE-2021-44532), so
 * that entries split unambiguously. Returns undefined for text not in that form: no guessing.
 */
export function parseSubjectAltNames(text: string): AltName[] | undefined {
  const names: AltName[] = [];
  let position = 0;
  while (position < text.length) {
    const colon = text.indexOf(":", position);
    if (colon < 0) return undefined;
    const type = text.slice(position, colon);
    let end: number;
    let value: string;
    if (text[colon + 1] === '"') {
      end = closingQuote(text, colon + 2) + 1;
      if (end === 0) return undefined;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch {
        return undefined;
      }
    } else {
      end = text.indexOf(", ", colon);
      if (end < 0) end = text.length;
      value = text.slice(colon + 1, end);
      if (NODE_QUOTES.test(value)) return undefined;
    }
    names.push({ type, value });
    if (end === text.length) break;
    if (!text.startsWith(", ", end)) return undefined;
    position = end + 2;
  }
  return names;
}

/** Characters Node never leaves unquoted in a value. */
const NODE_QUOTES = /[,"'\\\p{Cc}]/u;

/** Index of the `"` ending a JSON string whose contents start at `from`, or -1. */
function closingQuote(text: string, from: number): number {
  for (let index = from; index < text.length; index++) {
    if (text[index] === "\\") index++;
    else if (text[index] === '"') return index;
  }
  return -1;
}

function candidates(certificate: PeerCertificate, field: CertificateField): string[] {
  if (field === "subject.CN") {
    // Node gives an array when the subject repeats an attribute, whatever the type declaration says.
    const cn: string | string[] | undefined = certificate.subject?.CN;
    return cn === undefined ? [] : [cn].flat();
  }
  const altNames = parseSubjectAltNames(certificate.subjectaltname ?? "") ?? [];
  return altNames.filter((name) => name.type === "email").map((name) => name.value);
}

/** The user the certificate identifies, in its canonical spelling, or undefined. */
export function certificateIdentity(
  certificate: PeerCertificate,
  field: CertificateField,
  users: Pick<CredentialStore, "lookup">,
): string | undefined {
  const matches = new Set<string>();
  for (const name of candidates(certificate, field)) {
    const user = users.lookup(name);
    if (user && !user.disabled) matches.add(user.username);
  }
  return matches.size === 1 ? matches.values().next().value : undefined;
}

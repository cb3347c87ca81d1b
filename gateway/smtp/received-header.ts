// The trace header an MSA adds (RFC 5321 §4.4), with the RFC 3848 "with" keyword that records
// authentication (ESMTPA / ESMTPSA). Only values the SMTP layer already validated go in: the HELO
// name (smtp-server checks its syntax), the client IP, our host name and a queue id. The user name
// is deliberately left out: it is private and would be a header-injection vector.

export interface ReceivedFields {
  heloName: string;
  clientAddress: string;
  serverName: string;
  /** smtp-server's transmission type, e.g. "ESMTPSA". */
  protocol: string;
  id: string;
  date: Date;
}

const SAFE = /^[A-Za-z0-9.:[\]-]+$/;

function safe(value: string): string {
  return SAFE.test(value) ? value : "unknown";
}

export function receivedHeader(f: ReceivedFields): string {
  return (
    `Received: from ${safe(f.heloName)} ([${safe(f.clientAddress)}])\r\n` +
    `\tby ${safe(f.serverName)} (Postern) with ${safe(f.protocol)} id ${safe(f.id)};\r\n` +
    `\t${f.date.toUTCString().replace("GMT", "+0000")}\r\n`
  );
}

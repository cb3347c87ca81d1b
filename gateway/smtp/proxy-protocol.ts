// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load balancer
// sends before the client's first byte, so that per-address limits, allowedCidrs, the Received header
// and the logs see the real client instead of the balancer. Only peers in the listener's trusted
// networks may send one (server.ts); from anyone else the connection is the client itself.
// smtp-server reads version 1 only and trusts single addresses, not networks, so Postern decodes it.
import type { Socket } from "node:net";
import { isIP } from "node:net";

const V2_SIGNATURE = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
const V1_PREFIX = Buffer.from("PROXY ", "latin1");
/** Version 1 lines are at most 107 octets including CRLF. */
const V1_MAX = 107;
/** A version 2 header's TLVs are bounded by its 16-bit length; Postern reads no more than this. */
const V2_MAX = 16 + 2048;

export interface ProxiedPeer {
  address: string;
  port: number;
}

export type ProxyHeader =
  | { complete: false }
  /** `peer` is absent for LOCAL (the balancer's own health check) and unknown address families:
   *  then the connection's own address stands. */
  | { complete: true; length: number; peer: ProxiedPeer | undefined };

export class ProxyHeaderError extends Error {}

function startsLike(data: Buffer, prefix: Buffer): boolean {
  const n = Math.min(data.length, prefix.length);
  return data.subarray(0, n).equals(prefix.subarray(0, n));
}

function v1(data: Buffer): ProxyHeader {
  const end = data.indexOf("\r\n");
  if (end < 0) {
    if (data.length >= V1_MAX) throw new ProxyHeaderError("PROXY v1 line too long");
    return { complete: false };
  }
  if (end + 2 > V1_MAX) throw new ProxyHeaderError("PROXY v1 line too long");
  const [, family, source, , sourcePort] = data.subarray(0, end).toString("latin1").split(" ");
  if (family === "UNKNOWN") return { complete: true, length: end + 2, peer: undefined };
  const port = Number(sourcePort);
  const version = family === "TCP4" ? 4 : family === "TCP6" ? 6 : 0;
  if (
    version === 0 ||
    isIP(source ?? "") !== version ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65535
  ) {
    throw new ProxyHeaderError("malformed PROXY v1 line");
  }
  return { complete: true, length: end + 2, peer: { address: source as string, port } };
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Node's parser gives the canonical (compressed) form back.
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}

function v2(data: Buffer): ProxyHeader {
  if (data.length < 16) return { complete: false };
  const versionCommand = data[12] as number;
  if (versionCommand >> 4 !== 2) throw new ProxyHeaderError("PROXY v2 header of an unknown version");
  const length = 16 + data.readUInt16BE(14);
  if (length > V2_MAX) throw new ProxyHeaderError("PROXY v2 header too long");
  if (data.length < length) return { complete: false };
  const command = versionCommand & 0x0f;
  if (command === 0) return { complete: true, length, peer: undefined }; // LOCAL
  if (command !== 1) throw new ProxyHeaderError("PROXY v2 header with an unknown command");
  const family = (data[13] as number) >> 4;
  const body = data.subarray(16, length);
  if (family === 1 && body.length >= 12) {
    return {
      complete: true,
      length,
      peer: { address: [...body.subarray(0, 4)].join("."), port: body.readUInt16BE(8) },
    };
  }
  if (family === 2 && body.length >= 36) {
    return {
      complete: true,
      length,
      peer: { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) },
    };
  }
  if (family === 1 || family === 2) throw new ProxyHeaderError("PROXY v2 addresses cut short");
  return { complete: true, length, peer: undefined }; // UNSPEC or UNIX: the connection's own address
}

/** Decodes a PROXY header at the start of `data`; throws ProxyHeaderError when it is none. */
export function parseProxyHeader(data: Buffer): ProxyHeader {
  if (startsLike(data, V2_SIGNATURE)) return data.length < 12 ? { complete: false } : v2(data);
  if (startsLike(data, V1_PREFIX)) return data.length < V1_PREFIX.length ? { complete: false } : v1(data);
  throw new ProxyHeaderError("no PROXY header from a peer that must send one");
}

/**
 * Reads the PROXY header off `socket`, leaving every byte after it for the SMTP session (or the TLS
 * handshake). Rejects when the header is malformed or the socket closes first; the caller's
 * guard times out a peer that sends nothing.
 */
export function readProxyHeader(socket: Socket): Promise<ProxiedPeer | undefined> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const finish = (err: Error | undefined, peer?: ProxiedPeer) => {
      socket.removeListener("readable", onReadable);
      socket.removeListener("close", onClose);
      socket.removeListener("error", onError);
      if (err) reject(err);
      else resolve(peer);
    };
    const onReadable = () => {
      for (let chunk = socket.read() as Buffer | null; chunk; chunk = socket.read() as Buffer | null) {
        data = Buffer.concat([data, chunk]);
        let header: ProxyHeader;
        try {
          header = parseProxyHeader(data);
        } catch (err) {
          return finish(err as Error);
        }
        if (header.complete) {
          if (data.length > header.length) socket.unshift(data.subarray(header.length));
          return finish(undefined, header.peer);
        }
      }
    };
    const onClose = () => finish(new ProxyHeaderError("connection closed before its PROXY header"));
    const onError = (err: Error) => finish(err);
    socket.on("readable", onReadable);
    socket.once("close", onClose);
    socket.once("error", onError);
  });
}

// Per-user source networks: a user with `allowedCidrs` may only authenticate from those networks.
// Matching uses node:net's BlockList (IPv4, IPv6 and IPv4-mapped IPv6 handled by Node).
import { BlockList, isIPv4 } from "node:net";

const lists = new WeakMap<readonly string[], BlockList>();

function blockList(cidrs: readonly string[]): BlockList {
  let list = lists.get(cidrs);
  if (!list) {
    list = new BlockList();
    for (const cidr of cidrs) {
      const [network = "", bits] = cidr.split("/");
      const type = isIPv4(network) ? "ipv4" : "ipv6";
      list.addSubnet(network, Number(bits ?? (type === "ipv4" ? 32 : 128)), type);
    }
    lists.set(cidrs, list);
  }
  return list;
}

/** True when no networks are configured, or `address` lies in one of them. */
export function sourceAllowed(cidrs: readonly string[], address: string): boolean {
  if (cidrs.length === 0) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const plain = mapped ?? address;
  return blockList(cidrs).check(plain, isIPv4(plain) ? "ipv4" : "ipv6");
}

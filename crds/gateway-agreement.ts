// The gateway's own verdicts on what the API checks with patterns of its own (RE2 has no lookbehind and no
// JavaScript \s): usernames as the users file takes them, senders as the address policy takes envelope
// addresses. The samples touch every class and bound those patterns spell out; gateway-agreement.test.ts
// runs them through zod, crds.cluster-test.ts through a real API server.
import { usersFileSchema } from "../gateway/credentials/users-file.ts";
import { isValidMailbox } from "../gateway/policy/address.ts";

/** Whether the users file takes `username` (one bad entry would make the gateway refuse the whole file). */
export function gatewayTakesUsername(username: string): boolean {
  const entry = { username, senders: [], verifiers: { cramMd5: "c2VjcmV0" } };
  return usersFileSchema.safeParse({ users: [entry] }).success;
}

/** Whether `pattern` can ever match a sender: `*@domain` is itself an address the policy accepts. */
export const gatewayTakesSender = isValidMailbox;

/** Beyond U+FFFF: one character (code point) but two UTF-16 code units; lengths count characters. */
const astral = "\u{1F4EC}";

export const usernameSamples: string[] = [
  "alice",
  "alice@example.com",
  "Alice.O'Brien+smtp@example.com",
  "用户",
  "josé",
  astral,
  "a".repeat(320),
  "a".repeat(321),
  astral.repeat(320),
  astral.repeat(321),
  `${"a".repeat(319)}${astral}`,
  "",
  // JavaScript's \s: ASCII space and controls, then Unicode's separators and U+FEFF.
  ...[" ", "\t", "\n", "\v", "\f", "\r"].map((c) => `a${c}b`),
  ...["\u00a0", "\u1680", "\u2000", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff"].map(
    (c) => `a${c}b`,
  ),
  // Control characters: C0, DEL, C1.
  ...["\u0000", "\u001b", "\u001f", "\u007f", "\u0080", "\u0085", "\u009f"].map((c) => `a${c}b`),
  // Neighbours the gateway takes: format characters, the old Mongolian space, the first printable Latin-1.
  ...["\u200b", "\u200d", "\u180e", "\u00ad", "\u00a1", "\u2060", "\ufffd"].map((c) => `a${c}b`),
];

const label63 = "d".repeat(63);
/** A domain of `length` characters, in labels of at most 63. */
const domainOf = (length: number) => `${label63}.${label63}.${"e".repeat(length - 128)}`;

export const senderSamples: string[] = [
  "alice@example.com",
  "*@example.com",
  "first.last+tag@mail.example.co.uk",
  "#$&'*+/=?^_`{|}~-@example.com",
  "ALICE@EXAMPLE.COM",
  "a@1.2",
  "a@x-y.example",
  `a@${label63}.example`,
  "a@[192.0.2.1]",
  "a@[010.0.0.255]",
  "*@[192.0.2.1]",
  `${"a".repeat(64)}@example.com`,
  `${"a".repeat(65)}@example.com`,
  `${"a".repeat(64)}@${domainOf(189)}`,
  `${"a".repeat(64)}@${domainOf(190)}`,
  `a@${"d".repeat(64)}.example`,
  "a%b@example.com",
  "a!b@example.com",
  '"a b"@example.com',
  "a@@example.com",
  "a@b@example.com",
  "a@localhost",
  "*@com",
  "*@*",
  "@example.com",
  "a@",
  ".a@example.com",
  "a.@example.com",
  "a..b@example.com",
  "a@-x.example",
  "a@x-.example",
  "a@x..example",
  "a@example.com.",
  "a@x_y.example",
  "a@[256.0.0.1]",
  "a@[1.2.3]",
  "a@[1.2.3.4.5]",
  "a@[IPv6:2001:db8::1]",
  "josé@example.com",
  "a@exämple.com",
  "a b@example.com",
  "a@example.com\r\nRCPT TO:<victim@example.org>",
  "<a@example.com>",
];

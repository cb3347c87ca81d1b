import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { sourceAllowed } from "./source-address.ts";

describe("sourceAllowed", () => {
  it("allows every address when no networks are configured", () => {
    for (const address of ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"]) {
      assert.equal(sourceAllowed([], address), true, address);
    }
  });

  it("allows an IPv4 client inside an IPv4 CIDR, up to its edges, and nothing outside", () => {
    const cidrs = ["192.0.2.0/24"];
    for (const address of ["192.0.2.0", "192.0.2.77", "192.0.2.255"]) {
      assert.equal(sourceAllowed(cidrs, address), true, address);
    }
    for (const address of ["192.0.1.255", "192.0.3.0", "10.0.0.1"]) {
      assert.equal(sourceAllowed(cidrs, address), false, address);
    }
  });

  it("treats a network without a prefix length as a single host", () => {
    assert.equal(sourceAllowed(["192.0.2.10"], "192.0.2.10"), true);
    assert.equal(sourceAllowed(["192.0.2.10"], "192.0.2.11"), false);
    assert.equal(sourceAllowed(["2001:db8::10"], "2001:db8::10"), true);
    assert.equal(sourceAllowed(["2001:db8::10"], "2001:db8::11"), false);
  });

  it("allows an IPv6 client inside an IPv6 CIDR and nothing outside", () => {
    const cidrs = ["2001:db8:1::/48"];
    assert.equal(sourceAllowed(cidrs, "2001:db8:1::1"), true);
    assert.equal(sourceAllowed(cidrs, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"), true);
    assert.equal(sourceAllowed(cidrs, "2001:db8:2::1"), false);
    assert.equal(sourceAllowed(cidrs, "192.0.2.1"), false);
  });

  it("matches an IPv4-mapped IPv6 client (dual-stack socket) against IPv4 CIDRs", () => {
    const cidrs = ["192.0.2.0/24"];
    assert.equal(sourceAllowed(cidrs, "::ffff:192.0.2.5"), true);
    assert.equal(sourceAllowed(cidrs, "::FFFF:192.0.2.5"), true);
    assert.equal(sourceAllowed(cidrs, "::ffff:c000:205"), true, "the same address in hex form");
    assert.equal(sourceAllowed(cidrs, "::ffff:198.51.100.5"), false);
  });

  it("allows an address in any one of several networks", () => {
    const cidrs = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.0/24"];
    assert.equal(sourceAllowed(cidrs, "10.200.3.4"), true);
    assert.equal(sourceAllowed(cidrs, "2001:db8:ffff::1"), true);
    assert.equal(sourceAllowed(cidrs, "192.0.2.200"), true);
    assert.equal(sourceAllowed(cidrs, "172.16.0.1"), false);
  });

  it("keeps separately configured lists apart (no cross-talk through the per-list cache)", () => {
    const alice = ["10.0.0.0/8"];
    const bob = ["192.0.2.0/24"];
    assert.equal(sourceAllowed(alice, "10.1.1.1"), true);
    assert.equal(sourceAllowed(bob, "10.1.1.1"), false);
    assert.equal(sourceAllowed(bob, "192.0.2.1"), true);
    assert.equal(sourceAllowed(alice, "192.0.2.1"), false);
  });

  it("property: an IPv4 address is allowed by a /n network exactly when its first n bits match", () => {
    const ipv4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
    const toInt = (o: number[]) => o.reduce((n, b) => n * 256 + b, 0);
    fc.assert(
      fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), (network, client, bits) => {
        const shift = 2 ** (32 - bits);
        const inside = Math.floor(toInt(network) / shift) === Math.floor(toInt(client) / shift);
        assert.equal(sourceAllowed([`${network.join(".")}/${bits}`], client.join(".")), inside);
      }),
    );
  });
});

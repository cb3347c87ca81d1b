import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type ReceivedFields, receivedHeader } from "./received-header.ts";

const fields: ReceivedFields = {
  heloName: "client.example.test",
  clientAddress: "192.0.2.7",
  serverName: "gw.example.test",
  protocol: "ESMTPSA",
  id: "a1B2c3",
  date: new Date(Date.UTC(2025, 0, 2, 3, 4, 5)),
};

describe("receivedHeader", () => {
  it("writes one folded Received field from the validated values", () => {
    assert.equal(
      receivedHeader(fields),
      "Received: from client.example.test ([192.0.2.7])\r\n" +
        "\tby gw.example.test (Postern) with ESMTPSA id a1B2c3;\r\n" +
        "\tThu, 02 Jan 2025 03:04:05 +0000\r\n",
    );
  });

  it("passes the RFC 3848 with-keyword through", () => {
    for (const protocol of ["ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA", "LMTP"]) {
      assert.match(receivedHeader({ ...fields, protocol }), new RegExp(` with ${protocol} id `));
    }
  });

  it("keeps HELO names that are host names or address literals", () => {
    for (const heloName of ["mail.example.test", "[192.0.2.7]", "[IPv6:2001:db8::7]", "localhost"]) {
      assert.ok(receivedHeader({ ...fields, heloName }).startsWith(`Received: from ${heloName} (`), heloName);
    }
  });

  it("replaces unsafe HELO names with 'unknown'", () => {
    for (const heloName of [
      "evil\r\nBcc: victim@example.test",
      "host name",
      "host(comment)",
      "host;by forged.example",
      "",
      "höst.example",
      "host\0",
    ]) {
      assert.ok(
        receivedHeader({ ...fields, heloName }).startsWith("Received: from unknown ([192.0.2.7])\r\n"),
        JSON.stringify(heloName),
      );
    }
  });

  it("replaces unsafe values in every other field too", () => {
    const header = receivedHeader({
      ...fields,
      clientAddress: "fe80::1%eth0",
      serverName: "gw\nX-Injected: 1",
      protocol: "ESMTPSA\r\nX-Injected: 1",
      id: "id) (x",
    });
    assert.equal(
      header,
      "Received: from client.example.test ([unknown])\r\n" +
        "\tby unknown (Postern) with unknown id unknown;\r\n" +
        "\tThu, 02 Jan 2025 03:04:05 +0000\r\n",
    );
  });

  it("property: no input can add a line, a field or a comment to the header", () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."a1.:[]-\r\n\t ();:\0X") }),
      fc.string({ unit: "binary" }),
    );
    const date = fc.date({
      min: new Date("1970-01-01T00:00:00Z"),
      max: new Date("2200-01-01T00:00:00Z"),
      noInvalidDate: true,
    });
    const token = "[A-Za-z0-9.:\\[\\]-]+";
    const shape = new RegExp(
      `^Received: from ${token} \\(\\[${token}\\]\\)\\r\\n` +
        `\\tby ${token} \\(Postern\\) with ${token} id ${token};\\r\\n` +
        "\\t[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} \\+0000\\r\\n$",
    );
    fc.assert(
      fc.property(
        text,
        text,
        text,
        text,
        text,
        date,
        (heloName, clientAddress, serverName, protocol, id, d) => {
          const header = receivedHeader({ heloName, clientAddress, serverName, protocol, id, date: d });
          assert.match(header, shape);
          assert.equal(header.split("\r\n").length, 4);
          assert.doesNotMatch(header.replace(/\r\n/g, ""), /[\r\n]/);
        },
      ),
    );
  });
});

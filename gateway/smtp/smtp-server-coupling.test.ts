// Postern builds on smtp-server's private hooks (methods whose names start with "_", and the
// handler_<VERB> lookup): they carry no compatibility promise, so the version is pinned exactly and
// this test fails loudly, naming the hook, when an upgrade removes one or changes its shape — before
// AUTH, PROXY or transaction handling could silently stop working.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { SMTPServer } from "smtp-server";
import { SMTPConnection } from "smtp-server/lib/smtp-connection.js";
import { PosternConnection } from "./connection.ts";
import { PosternSmtpServer } from "./server.ts";

/** Every library method Postern overrides, with the number of parameters it declares. */
const OVERRIDDEN = {
  connection: {
    _setListeners: 1,
    connectionReady: 1,
    _onClose: 0,
    _resetSession: 0,
    handler_EHLO: 2,
    handler_AUTH: 2,
    _onCommand: 2,
    _parseAddressCommand: 2,
    send: 3,
  },
  server: { connect: 2, _expectsProxyHeader: 1, _handleProxy: 2 },
} as const;

/** Library internals Postern calls or relies on without overriding them. */
const CALLED = {
  connection: { _transmissionType: 0, close: 0 },
  server: { _onError: 1, _onClientConnect: 1, updateSecureContext: 1 },
} as const;

/** What a hook's body must still do for Postern's override to mean what it means. */
const BEHAVIOUR: [string, () => string, RegExp][] = [
  // handler_AUTH's exchange takes the next line through _nextHandler, which _onCommand honours first.
  [
    "_onCommand honours _nextHandler",
    () => SMTPConnection.prototype._onCommand.toString(),
    /this\._nextHandler/,
  ],
  // Commands are dispatched to handler_<VERB> methods (through _getHandler).
  [
    "_getHandler looks up handler_<VERB>",
    () => (SMTPConnection.prototype as unknown as Record<string, () => void>)._getHandler?.toString() ?? "",
    /handler_/,
  ],
  // The greeting goes out from connectionReady, after _setListeners' callback.
  [
    "init greets through _setListeners and connectionReady",
    () => SMTPConnection.prototype.init.toString(),
    /_setListeners[\s\S]*connectionReady/,
  ],
  // The PROXY hooks: the pre-session guard asks _expectsProxyHeader; the server hands _handleProxy's
  // options to connect().
  [
    "_acceptSocket guards sockets _expectsProxyHeader names",
    () => (SMTPServer.prototype as unknown as Record<string, () => void>)._acceptSocket?.toString() ?? "",
    /_expectsProxyHeader\(socket\)/,
  ],
  [
    "the server connects what _handleProxy returns",
    () => SMTPServer.toString(),
    /_handleProxy\(socket, \(err, socketOptions\)[\s\S]*this\.connect\(/,
  ],
  // Drain leaves a connection alone while _upgrading (gateway/runtime/drain.ts): set from STARTTLS's
  // 220 until the handshake completes.
  [
    "upgrade() sets _upgrading until the TLS socket is secure",
    () => SMTPConnection.prototype.upgrade.toString(),
    /this\._upgrading = true[\s\S]*'secure'[\s\S]*this\._upgrading = false/,
  ],
  // _resetSession replaces the envelope: PosternConnection aborts the transaction just before.
  [
    "_resetSession resets the envelope",
    () => SMTPConnection.prototype._resetSession.toString(),
    /session\.envelope = /,
  ],
];

function assertHooks(base: object, hooks: Readonly<Record<string, number>>, what: string) {
  const prototype = base as Record<string, unknown>;
  for (const [name, arity] of Object.entries(hooks)) {
    const hook = prototype[name];
    assert.equal(typeof hook, "function", `smtp-server no longer has ${what}.${name}: Postern depends on it`);
    assert.equal(
      (hook as () => void).length,
      arity,
      `smtp-server's ${what}.${name} now takes ${(hook as () => void).length} parameters, Postern expects ${arity}`,
    );
  }
}

/** The methods a Postern subclass defines that its smtp-server base also has: its overrides. */
function overridesOf(subclass: { prototype: object }, base: { prototype: object }): string[] {
  return Object.getOwnPropertyNames(subclass.prototype).filter(
    (name) => name !== "constructor" && name in base.prototype,
  );
}

describe("smtp-server coupling", () => {
  it("the version is pinned exactly, and the installed one is that version", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
    const pinned = pkg.dependencies["smtp-server"];
    assert.match(pinned, /^\d+\.\d+\.\d+$/, `package.json must pin smtp-server exactly, not ${pinned}`);
    const require = createRequire(import.meta.url);
    assert.equal(require("smtp-server/package.json").version, pinned);
  });

  it("every hook Postern overrides or calls is still there, with the same parameters", () => {
    assertHooks(SMTPConnection.prototype, OVERRIDDEN.connection, "SMTPConnection");
    assertHooks(SMTPConnection.prototype, CALLED.connection, "SMTPConnection");
    assertHooks(SMTPServer.prototype, OVERRIDDEN.server, "SMTPServer");
    assertHooks(SMTPServer.prototype, CALLED.server, "SMTPServer");
  });

  it("Postern overrides exactly the hooks listed here (a new override must be listed, and so watched)", () => {
    assert.deepEqual(
      overridesOf(PosternConnection, SMTPConnection).sort(),
      Object.keys(OVERRIDDEN.connection).sort(),
    );
    assert.deepEqual(
      overridesOf(PosternSmtpServer, SMTPServer).sort(),
      Object.keys(OVERRIDDEN.server).sort(),
    );
  });

  for (const [what, source, expected] of BEHAVIOUR) {
    it(`the hooks still behave as Postern assumes: ${what}`, () => {
      assert.match(source(), expected, `smtp-server changed: ${what} no longer holds`);
    });
  }
});

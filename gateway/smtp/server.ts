// One smtp-server instance per listener, wired to Postern's connection class and transaction
// policy. smtp-server's `connect()` is where the library constructs its connection objects; it is
// overridden only to construct PosternConnection instead (see connection.ts for why). Its PROXY
// hooks are overridden for version 2 and trusted networks (proxy-protocol.ts).
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import type { GatewayConfig } from "../config/schema.ts";
import { logConnectionError } from "../observability/connection-log.ts";
import { sourceAllowed } from "../policy/source-address.ts";
import type { TlsMaterial } from "../tls/material.ts";
import { MAX_AUTH_LINE } from "./auth-command.ts";
import { PosternConnection } from "./connection.ts";
import type { ListenerRuntime } from "./listener-runtime.ts";
import { onData, onMailFrom, onRcptTo } from "./mail-commands.ts";
import { readProxyHeader } from "./proxy-protocol.ts";
import { Replies, smtpError } from "./replies.ts";

/** A session id the way smtp-server makes them (it makes one only on the paths it reads itself). */
const sessionId = () =>
  BigInt(`0x${randomBytes(10).toString("hex")}`)
    .toString(32)
    .padStart(16, "0");

export class PosternSmtpServer extends SMTPServer {
  readonly runtime: ListenerRuntime;
  /** smtp-server hands its callbacks the session; this leads back to the connection that owns it. */
  readonly #bySession = new WeakMap<object, PosternConnection>();

  constructor(runtime: ListenerRuntime, options: SMTPServerOptions) {
    super(options);
    this.runtime = runtime;
  }

  connectionOf(session: object): PosternConnection {
    const connection = this.#bySession.get(session);
    if (!connection) throw new Error("smtp-server called back for a session it never connected");
    return connection;
  }

  /** Whether this peer is a trusted load balancer that must start with a PROXY header (replaces the
   *  library's check, which knows single addresses only). */
  override _expectsProxyHeader(socket: Socket): boolean {
    const trusted = this.runtime.listener.proxyProtocol?.trustedCidrs;
    return trusted !== undefined && sourceAllowed(trusted, socket.remoteAddress ?? "");
  }

  /** Reads the PROXY header (v1 or v2) from a trusted peer; others go the library's way, as clients.
   *  smtp-server guards the socket with its timeout meanwhile, and closes it on an error here. */
  override _handleProxy(socket: Socket, callback: Parameters<SMTPServer["_handleProxy"]>[1]): void {
    if (!this._expectsProxyHeader(socket)) {
      super._handleProxy(socket, callback);
      return;
    }
    readProxyHeader(socket).then(
      (peer) =>
        callback(null, {
          id: sessionId(),
          ...(peer && { remoteAddress: peer.address, remotePort: peer.port }),
        }),
      (err: Error) => {
        this.runtime.logger.info({ peer: socket.remoteAddress, err: err.message }, "PROXY header refused");
        socket.destroy();
        callback(err);
      },
    );
  }

  override connect(socket: Socket, socketOptions: ConstructorParameters<typeof PosternConnection>[3]): void {
    const connection = new PosternConnection(this.runtime, this, socket, socketOptions);
    this.#bySession.set(connection.session, connection);
    this.connections.add(connection);
    connection.on("error", (err: Error) => this._onError(err));
    connection.on("connect", (data) => this._onClientConnect(data));
    connection.init();
  }
}

export function tlsOptions(tls: TlsMaterial | undefined): Partial<SMTPServerOptions> {
  if (!tls) return {};
  return {
    key: tls.key,
    cert: tls.cert,
    minVersion: tls.minVersion,
    // A client certificate is asked for but optional; only a verified one enables EXTERNAL. Unset
    // explicitly without a CA: a reload merges these into the server's options, so a removed CA left
    // out would stay in force.
    ...(tls.ca
      ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false }
      : { ca: undefined, requestCert: false }),
  };
}

/** The server options that come from policy. smtp-server reads these from `server.options` as it
 *  goes, so a policy reload assigns them and new connections and transactions follow. */
export function policyOptions(config: GatewayConfig) {
  return {
    name: config.hostname,
    size: config.limits.maxMessageBytes,
    maxClients: config.limits.maxConnections,
    socketTimeout: config.limits.idleTimeoutSeconds * 1000,
  } satisfies Partial<SMTPServerOptions>;
}

export function createListenerServer(runtime: ListenerRuntime, tls: TlsMaterial | undefined): SMTPServer {
  const { listener } = runtime;
  // Sessions counted as open, so a session refused before onConnect is never subtracted.
  const counted = new WeakSet<object>();
  const server = new PosternSmtpServer(runtime, {
    ...policyOptions(runtime.config()),
    banner: "Postern ESMTP submission service",
    secure: listener.mode === "implicit-tls",
    hideSTARTTLS: !tls,
    ...tlsOptions(tls),
    // Placeholder for the library's own list; PosternConnection writes the real AUTH line.
    authMethods: ["PLAIN"],
    authOptional: listener.mode === "relay-port",
    authRequiredMessage: `${Replies.authRequired.enhanced} ${Replies.authRequired.text}`,
    heloResponse: "%s at your service, %s",
    hideENHANCEDSTATUSCODES: false,
    hideSMTPUTF8: true,
    hideDSN: true,
    hideREQUIRETLS: true,
    disableReverseLookup: true,
    // close() comes after the drain told every client 421; a peer slow to hang up is not waited for.
    closeTimeout: 1000,
    // The parser's hard limit; AUTH lines over MAX_AUTH_LINE get 500 5.5.6 from the driver first.
    maxCommandLength: MAX_AUTH_LINE * 4,
    maxAllowedUnauthenticatedCommands: 20,
    logger: false,
    onConnect(session, done) {
      if (runtime.drain.draining) return done(smtpError(Replies.shuttingDown));
      runtime.metrics.connectionsTotal.inc({ listener: listener.name });
      runtime.metrics.connectionsActive.inc({ listener: listener.name });
      counted.add(session);
      done();
    },
    onClose(session) {
      if (counted.delete(session)) runtime.metrics.connectionsActive.dec({ listener: listener.name });
    },
    onMailFrom: (address, session, done) => onMailFrom(runtime, server.connectionOf(session), address, done),
    onRcptTo: (address, session, done) => onRcptTo(runtime, server.connectionOf(session), address, done),
    onData: (stream, session, done) => onData(server.connectionOf(session), stream, done),
  });
  server.on("error", (err) => logConnectionError(runtime.logger, listener.name, err));
  return server;
}

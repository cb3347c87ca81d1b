// The client side of SCRAM-SHA-256 (RFC 5802 §3), for tests only: it drives the server mechanism
// with honest messages that the property tests then mutate.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { saslprep } from "@mongodb-js/saslprep";

const hmac = (key: Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/** RFC 5802 §5.1 saslname escaping, the inverse of the server's decoding. */
export function encodeSaslname(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

export interface ScramClient {
  first: Buffer;
  /**
   * The client-final message for the server's first message, and the `v=` the server must answer.
   * `tamper` replaces the echoed gs2 header or nonce while still signing correctly, as an attacker
   * who knows the password but rewrites the exchange would.
   */
  final(
    serverFirst: Buffer,
    tamper?: { gs2Header?: string; nonce?: string },
  ): { message: Buffer; serverFinal: string };
}

export function scramClient(
  username: string,
  password: string,
  options: { gs2Header?: string; clientNonce?: string } = {},
): ScramClient {
  const gs2Header = options.gs2Header ?? "n,,";
  const bare = `n=${encodeSaslname(username)},r=${options.clientNonce ?? randomBytes(18).toString("base64")}`;
  return {
    first: Buffer.from(gs2Header + bare),
    final(serverFirst, tamper = {}) {
      const text = serverFirst.toString();
      const fields = new Map(text.split(",").map((field) => [field.slice(0, 1), field.slice(2)]));
      const salt = Buffer.from(fields.get("s") ?? "", "base64");
      const salted = pbkdf2Sync(saslprep(password), salt, Number(fields.get("i")), 32, "sha256");
      const clientKey = hmac(salted, "Client Key");
      const storedKey = createHash("sha256").update(clientKey).digest();
      const binding = Buffer.from(tamper.gs2Header ?? gs2Header).toString("base64");
      const withoutProof = `c=${binding},r=${tamper.nonce ?? fields.get("r")}`;
      const authMessage = `${bare},${text},${withoutProof}`;
      const signature = hmac(storedKey, authMessage);
      const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
      return {
        message: Buffer.from(`${withoutProof},p=${proof.toString("base64")}`),
        serverFinal: `v=${hmac(hmac(salted, "Server Key"), authMessage).toString("base64")}`,
      };
    },
  };
}

// LOGIN (draft-murchison-sasl-login): the server asks "Username:" then "Password:"; an initial
// response, when the client sends one, is the user name.
import { decodeIdentity, decodePassword } from "./client-text.ts";
import { failure, guardedExchange } from "./exchange.ts";
import type { SaslMechanism, SaslStep } from "./mechanism.ts";
import { checkPassword } from "./password-check.ts";

const USERNAME_PROMPT = Buffer.from("Username:");
const PASSWORD_PROMPT = Buffer.from("Password:");

export const login: SaslMechanism = {
  name: "LOGIN",
  plaintext: true,
  start(_context, backend) {
    let asked = false;
    let username: string | undefined;
    return guardedExchange(async (response): Promise<SaslStep> => {
      if (username === undefined) {
        if (response === undefined) {
          if (asked) return failure("malformed");
          asked = true;
          return { kind: "challenge", data: USERNAME_PROMPT };
        }
        username = decodeIdentity(response);
        if (username === undefined) return failure("malformed");
        return { kind: "challenge", data: PASSWORD_PROMPT };
      }
      const password = response === undefined ? undefined : decodePassword(response);
      if (password === undefined) return failure("malformed", username);
      return checkPassword(backend, username, password, "");
    });
  },
};

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { parseUsersFile, type UsersFileInput, usernameKey } from "./users-file.ts";

// Fixed, valid verifiers (Dovecot known answers and RFC 7677's SCRAM example) so no hashing is needed.
const ARGON2ID =
  "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$/4gUplKGIWulcBqCd4+vLQ$0lmXMoSjQcEhO+Y7c3PFcNHeRCmtJLX7mMR+YEJInws";
const BCRYPT = "{BLF-CRYPT}$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q";
const KEY32 = Buffer.alloc(32, 7).toString("base64");
const SCRAM = { iterations: 4096, salt: "W22ZaJ0SNY7soEsUEjb6gQ==", storedKey: KEY32, serverKey: KEY32 };

function fileWith(...users: UsersFileInput["users"]): string {
  return stringify({ users });
}

function user(overrides: Record<string, unknown> = {}) {
  return {
    username: "alice@example.test",
    senders: ["alice@example.test"],
    verifiers: { password: ARGON2ID },
    ...overrides,
  };
}

/** The error message for a file that must be refused. */
function refusal(text: string, source = "users.yaml"): string {
  try {
    parseUsersFile(text, source);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail("the file was accepted");
}

describe("parseUsersFile", () => {
  it("parses the documented format: hashes parsed, base64 decoded, defaults applied", () => {
    const text = `
users:
  - username: alice@example.test          # the SASL identity
    disabled: false
    senders: ["alice@example.test", "*@example.test"]
    authorizeFor: ["shared@example.test"]
    allowedCidrs: ["10.0.0.0/8", "2001:db8::/32"]
    verifiers:
      password: "${ARGON2ID}"
      scramSha256: { iterations: 4096, salt: W22ZaJ0SNY7soEsUEjb6gQ==, storedKey: ${KEY32}, serverKey: ${KEY32} }
      cramMd5: c2VjcmV0
  - username: Bob@Example.test
    senders: []
    verifiers:
      password: "${BCRYPT}"
`;
    const file = parseUsersFile(text, "users.yaml");
    const [alice, bob] = file.users;
    assert.ok(alice && bob);
    assert.equal(alice.verifiers.password?.scheme, "argon2id");
    assert.equal(alice.verifiers.password?.stored, ARGON2ID);
    assert.deepEqual(alice.verifiers.scramSha256?.salt, Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64"));
    assert.deepEqual(alice.verifiers.scramSha256?.storedKey, Buffer.alloc(32, 7));
    assert.equal(alice.verifiers.scramSha256?.iterations, 4096);
    assert.equal(alice.verifiers.cramMd5?.toString(), "secret");
    assert.deepEqual(alice.senders, ["alice@example.test", "*@example.test"]);
    assert.deepEqual(alice.authorizeFor, ["shared@example.test"]);
    assert.deepEqual(alice.allowedCidrs, ["10.0.0.0/8", "2001:db8::/32"]);
    assert.equal(bob.username, "Bob@Example.test", "canonical form as written");
    assert.equal(bob.disabled, false);
    assert.deepEqual(bob.authorizeFor, []);
    assert.deepEqual(bob.allowedCidrs, []);
    assert.equal(bob.verifiers.password?.scheme, "bcrypt");
  });

  it("accepts a file with no users", () => {
    assert.deepEqual(parseUsersFile("users: []\n", "users.yaml"), { users: [] });
  });

  it("names the file and the field path of a schema error", () => {
    const text = fileWith(
      user(),
      user({ username: "bob@example.test", verifiers: { scramSha256: { ...SCRAM, iterations: 1 } } }),
    );
    assert.equal(
      refusal(text),
      "users.yaml: users[1].verifiers.scramSha256.iterations: Too small: expected number to be >=4096",
    );
  });

  it("uses the path it was given as the file name", () => {
    assert.match(
      refusal("users: 3\n", "/etc/postern/credentials/users.yaml"),
      /^\/etc\/postern\/credentials\/users\.yaml: users: /,
    );
  });

  const refused: [string, unknown, RegExp][] = [
    [
      "a plaintext password",
      user({ verifiers: { password: "hunter2" } }),
      /users\[0\]\.verifiers\.password: unsupported password hash/,
    ],
    [
      "an unsupported scheme",
      user({ verifiers: { password: "{MD5-CRYPT}$1$x$y" } }),
      /verifiers\.password: unsupported password hash scheme \{MD5-CRYPT\}/,
    ],
    [
      "no verifier at all",
      user({ verifiers: {} }),
      /users\[0\]\.verifiers: at least one verifier is required/,
    ],
    [
      "an unknown verifier key",
      user({ verifiers: { password: ARGON2ID, plaintext: "x" } }),
      /users\[0\]\.verifiers: Unrecognized key: "plaintext"/,
    ],
    ["an unknown user key", user({ pasword: "x" }), /users\[0\]: Unrecognized key: "pasword"/],
    [
      "a missing senders list",
      { username: "a@b", verifiers: { password: ARGON2ID } },
      /users\[0\]\.senders: Invalid input: expected array/,
    ],
    [
      "a short storedKey",
      user({ verifiers: { scramSha256: { ...SCRAM, storedKey: "AAAA" } } }),
      /scramSha256\.storedKey: must decode to 32 bytes/,
    ],
    [
      "bad base64",
      user({ verifiers: { cramMd5: "not base64!" } }),
      /users\[0\]\.verifiers\.cramMd5: Invalid base64/,
    ],
    [
      "an empty cramMd5 secret",
      user({ verifiers: { cramMd5: "" } }),
      /users\[0\]\.verifiers\.cramMd5: Too small/,
    ],
    [
      "non-integer iterations",
      user({ verifiers: { scramSha256: { ...SCRAM, iterations: 4096.5 } } }),
      /scramSha256\.iterations: Invalid input: expected int/,
    ],
    [
      "a CR/LF in the user name",
      user({ username: "alice\r\nRCPT TO:<x>" }),
      /users\[0\]\.username: must not contain whitespace or control characters/,
    ],
    ["an empty user name", user({ username: "" }), /users\[0\]\.username: Too small/],
    [
      "a sender that is no address",
      user({ senders: ["alice"] }),
      /users\[0\]\.senders\[0\]: must be an address or \*@domain/,
    ],
    [
      "a bad CIDR",
      user({ allowedCidrs: ["10.0.0.0/33"] }),
      /users\[0\]\.allowedCidrs\[0\]: must be an IPv4 or IPv6 CIDR block/,
    ],
    [
      "a string for disabled",
      user({ disabled: "yes" }),
      /users\[0\]\.disabled: Invalid input: expected boolean/,
    ],
  ];
  for (const [description, entry, message] of refused) {
    it(`refuses ${description}, naming the field`, () => {
      assert.match(refusal(stringify({ users: [entry] })), message);
    });
  }

  it("refuses user names that differ only in case", () => {
    const text = fileWith(user(), user({ username: "ALICE@example.test" }));
    assert.match(refusal(text), /users\[1\]\.username: duplicate of users\[0\]\.username/);
  });

  it("reports every problem, not just the first", () => {
    const message = refusal(fileWith(user({ senders: ["x"] }), user({ username: "b@c", verifiers: {} })));
    assert.match(message, /users\[0\]\.senders\[0\]/);
    assert.match(message, /users\[1\]\.verifiers/);
  });

  it("names the file and position of a YAML syntax error without quoting the line", () => {
    const message = refusal(
      "users:\n  - username: a@b\n    verifiers: { cramMd5: c2VjcmV0\n",
      "creds/users.yaml",
    );
    assert.match(message, /^creds\/users\.yaml: invalid YAML at line \d+, column \d+: /);
    assert.doesNotMatch(message, /c2VjcmV0/);
  });

  it("refuses duplicate YAML keys", () => {
    assert.match(
      refusal("users: []\nusers: []\n"),
      /^users\.yaml: invalid YAML at line 2, column 1: Map keys must be unique/,
    );
  });

  it("refuses an empty file, naming it", () => {
    assert.match(refusal(""), /^users\.yaml: Invalid input: expected object/);
  });

  it("never puts a secret value into an error", () => {
    const message = refusal(
      fileWith(user({ verifiers: { password: "{PLAIN}hunter2", cramMd5: "aHVudGVyMg==" } }), user()),
    );
    assert.doesNotMatch(message, /hunter2|aHVudGVyMg/);
  });
});

describe("usernameKey", () => {
  it("matches case-insensitively and across Unicode normal forms", () => {
    assert.equal(usernameKey("Alice@Example.TEST"), usernameKey("alice@example.test"));
    assert.equal(usernameKey("zo\u00eb@example.test"), usernameKey("ZOE\u0308@example.test"));
    assert.notEqual(usernameKey("alice@example.test"), usernameKey("alice2@example.test"));
  });

  it("folds case fully and compatibility variants, not only ASCII letters", () => {
    assert.equal(usernameKey("STRASSE@example.test"), usernameKey("stra\u00dfe@example.test"));
    assert.equal(usernameKey("\uff41lice@example.test"), usernameKey("alice@example.test"), "fullwidth a");
    assert.equal(
      usernameKey("\u039f\u0394\u039f\u03a3"),
      usernameKey("\u03bf\u03b4\u03bf\u03c2"),
      "final sigma",
    );
    assert.equal(usernameKey("JOSE\u0301"), usernameKey("jos\u00e9"));
    assert.equal(usernameKey("\u1e9e"), usernameKey("\u00df"), "capital and small sharp s");
    assert.equal(usernameKey(usernameKey("\u1e9e")), usernameKey("\u1e9e"));
  });

  it("property: the key of a key is itself, and every spelling differing by case or form shares it", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 24 }), (name) => {
        const key = usernameKey(name);
        assert.equal(usernameKey(key), key);
        assert.equal(usernameKey(name.toUpperCase()), key);
        assert.equal(usernameKey(name.normalize("NFD")), key);
      }),
      { numRuns: 5000 },
    );
  });
});

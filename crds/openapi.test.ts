import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import type { CustomResourceDefinition } from "./crd.ts";
import { type SchemaProps, structuralSchema } from "./openapi.ts";
import { generatedFiles } from "./render.ts";

describe("structuralSchema", () => {
  it("collapses an integer-or-string union into the int-or-string form, keeping the string's pattern", () => {
    const quantity = {
      anyOf: [
        { type: "integer", maximum: 9007199254740991 },
        { type: "string", pattern: "^[0-9]+Mi$" },
      ],
      "x-kubernetes-int-or-string": true,
      default: "1Mi",
      description: "size",
    };
    assert.deepEqual(structuralSchema(quantity), {
      anyOf: [{ type: "integer" }, { type: "string" }],
      default: "1Mi",
      description: "size",
      pattern: "^[0-9]+Mi$",
      "x-kubernetes-int-or-string": true,
    });
  });

  it("refuses unions, references and nullables, naming where", () => {
    const object = (field: SchemaProps) => ({ type: "object", properties: { field } });
    assert.throws(
      () => structuralSchema(object({ anyOf: [{ type: "string" }, { type: "integer" }] })),
      /\.field: "anyOf"/,
    );
    assert.throws(() => structuralSchema(object({ $ref: "#/$defs/x" })), /\.field: "\$ref"/);
    assert.throws(() => structuralSchema(object({ type: "string", nullable: true })), /"nullable"/);
  });

  it("refuses a node without a type", () => {
    assert.throws(
      () => structuralSchema({ type: "array", items: { description: "anything" } }),
      /\[\]: no type/,
    );
  });

  it("drops what pruning already does, and refuses a map beside properties", () => {
    const closed = { type: "object", properties: { a: { type: "string" } }, additionalProperties: false };
    assert.deepEqual(structuralSchema(closed), { type: "object", properties: { a: { type: "string" } } });
    const both = { ...closed, additionalProperties: { type: "string" } };
    assert.throws(() => structuralSchema(both), /additionalProperties beside properties/);
  });

  it("turns const into a one-value enum and drops $schema", () => {
    const literal = { $schema: "https://json-schema.org/draft/2020-12/schema", type: "string", const: "v1" };
    assert.deepEqual(structuralSchema(literal), { enum: ["v1"], type: "string" });
  });
});

const crds = [...generatedFiles()]
  .filter(([path]) => path.endsWith(".yaml"))
  .map(([, text]) => parse(text) as CustomResourceDefinition);

/** Every schema node below `node`, with a JSONPath-like name. */
function* nodes(node: SchemaProps, at: string): Generator<[string, SchemaProps]> {
  yield [at, node];
  for (const [name, sub] of Object.entries((node.properties ?? {}) as Record<string, SchemaProps>)) {
    yield* nodes(sub, `${at}.${name}`);
  }
  if (node.items) yield* nodes(node.items as SchemaProps, `${at}[]`);
  if (typeof node.additionalProperties === "object")
    yield* nodes(node.additionalProperties as SchemaProps, `${at}{}`);
}

const schemaOf = (crd: CustomResourceDefinition) =>
  crd.spec.versions[0]?.schema.openAPIV3Schema ?? assert.fail();
const all = crds.flatMap((crd) => [...nodes(schemaOf(crd), crd.spec.names.kind)]);
const find = (path: string) => all.find(([at]) => at === path)?.[1] ?? assert.fail(`no ${path}`);

/** Syntax Go's RE2 lacks: lookaround, backreferences, atomic groups, possessive quantifiers. */
const notRE2 = /\(\?<?[=!]|\\[1-9]|\\k<|\(\?>|[*+?}]\+/;
/** The pattern with its character classes emptied, where those characters are literals. */
const outsideClasses = (pattern: string) => pattern.replace(/\[(\\.|[^\]\\])*\]/g, "[]");

describe("the generated CRDs", () => {
  it("are two apiextensions.k8s.io/v1 CRDs in group postern.io, served and stored at v1alpha1", () => {
    assert.deepEqual(
      crds.map((crd) => [
        crd.apiVersion,
        crd.metadata.name,
        crd.spec.scope,
        crd.spec.versions.map((v) => v.name),
      ]),
      [
        ["apiextensions.k8s.io/v1", "submissiongateways.postern.io", "Namespaced", ["v1alpha1"]],
        ["apiextensions.k8s.io/v1", "smtpusers.postern.io", "Namespaced", ["v1alpha1"]],
      ],
    );
  });

  it("have the short names, category, status subresource and printer columns users see", () => {
    for (const crd of crds) assert.deepEqual(crd.spec.names.categories, ["postern"]);
    assert.deepEqual(
      crds.map((crd) => crd.spec.names.shortNames),
      [["sgw"], ["smtpuser"]],
    );
    for (const crd of crds) assert.deepEqual(crd.spec.versions[0]?.subresources, { status: {} });
    assert.deepEqual(
      crds.map((crd) => crd.spec.versions[0]?.additionalPrinterColumns.map((c) => c.name)),
      [
        ["Ready", "Users", "Replicas", "Age"],
        ["Gateway", "Ready", "Senders", "Age"],
      ],
    );
  });

  it("use no $ref, $defs, $schema, nullable or union but int-or-string", () => {
    for (const [at, node] of all) {
      for (const keyword of ["$ref", "$defs", "$schema", "nullable", "oneOf", "allOf", "not"]) {
        assert.equal(keyword in node, false, `${at}: ${keyword}`);
      }
      if ("anyOf" in node) assert.equal(node["x-kubernetes-int-or-string"], true, `${at}: anyOf`);
    }
  });

  it("give every node a type, except the int-or-string ones", () => {
    for (const [at, node] of all) {
      if (node["x-kubernetes-int-or-string"] !== true) assert.equal(typeof node.type, "string", at);
    }
  });

  it("never put additionalProperties beside properties, nor preserve unknown fields", () => {
    for (const [at, node] of all) {
      assert.ok(!(node.properties && "additionalProperties" in node), at);
      assert.equal("x-kubernetes-preserve-unknown-fields" in node, false, at);
    }
  });

  it("recognise what RE2 lacks", () => {
    for (const bad of ["^(?=a)", "(?!a)", "(?<=a)b", "(a)\\1", "(?<n>a)\\k<n>", "(?>a)", "a*+", "[a]++"]) {
      assert.match(outsideClasses(bad), notRE2, bad);
    }
    assert.doesNotMatch(outsideClasses("^[*+?]+(?:a|b)$"), notRE2);
  });

  it("use only RE2 patterns", () => {
    const patterns = all.filter(([, node]) => typeof node.pattern === "string");
    assert.ok(patterns.length > 10);
    for (const [at, { pattern }] of patterns) {
      assert.doesNotMatch(outsideClasses(String(pattern)), notRE2, at);
      new RegExp(String(pattern)); // and ECMAScript agrees it is a regular expression
    }
  });

  it("describe every field, for kubectl explain", () => {
    for (const crd of crds) {
      for (const [at, node] of nodes(schemaOf(crd), crd.spec.names.kind)) {
        for (const [name, field] of Object.entries((node.properties ?? {}) as Record<string, SchemaProps>)) {
          if (name !== "metadata") assert.ok(field.description, `${at}.${name} has no description`);
        }
      }
    }
  });

  it("merge listeners by name and conditions by type on server-side apply", () => {
    for (const [path, key] of [
      ["SubmissionGateway.spec.listeners", "name"],
      ["SubmissionGateway.status.conditions", "type"],
      ["SmtpUser.status.conditions", "type"],
    ] as const) {
      assert.equal(find(path)["x-kubernetes-list-type"], "map", path);
      assert.deepEqual(find(path)["x-kubernetes-list-map-keys"], [key], path);
    }
  });

  it("bound every list a CEL rule walks, so the API server can estimate its cost", () => {
    for (const path of [
      "SubmissionGateway.spec.listeners",
      "SubmissionGateway.spec.auth.mechanisms",
      "SmtpUser.spec.allowedSourceRanges",
    ]) {
      assert.equal(typeof find(path).maxItems, "number", path);
    }
    assert.equal(typeof find("SmtpUser.spec.allowedSourceRanges[]").maxLength, "number");
  });

  it("carry the defaults in the schema", () => {
    assert.equal(find("SubmissionGateway.spec.replicas").default, 2);
    assert.deepEqual(find("SubmissionGateway.spec.auth").default, {});
    assert.deepEqual(find("SubmissionGateway.spec.auth.mechanisms").default, [
      "SCRAM-SHA-256",
      "PLAIN",
      "LOGIN",
    ]);
    assert.equal(find("SmtpUser.spec.passwordSecretRef.key").default, "password");
  });
});

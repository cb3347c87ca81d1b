// zod's JSON Schema (OpenAPI 3.0 flavour, input side, everything inlined) → a structural schema, the
// subset of OpenAPI v3 a kube-apiserver accepts in a CRD. Anything without a structural form is a mistake
// in the zod source, so it throws rather than guessing.

export type SchemaProps = { [keyword: string]: unknown };

/** Keywords that have no place in a structural schema (the int-or-string form is built separately). */
const refused = [
  "$ref",
  "$defs",
  "definitions",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "nullable",
  "patternProperties",
];

export function structuralSchema(node: SchemaProps, at = "<root>"): SchemaProps {
  if (node["x-kubernetes-int-or-string"] === true) return intOrString(node);
  const out: SchemaProps = {};
  for (const [keyword, value] of Object.entries(node)) {
    if (refused.includes(keyword)) throw new Error(`${at}: "${keyword}" has no structural form`);
    switch (keyword) {
      case "$schema":
      case "propertyNames": // record keys are strings anyway
        break;
      case "additionalProperties":
        // `false` and `{}` restate what pruning does; a schema describes a map's values.
        if (typeof value === "object" && value !== null && Object.keys(value).length > 0) {
          if (node.properties !== undefined) throw new Error(`${at}: additionalProperties beside properties`);
          out[keyword] = structuralSchema(value as SchemaProps, `${at}{}`);
        }
        break;
      case "properties":
        out[keyword] = Object.fromEntries(
          Object.entries(value as Record<string, SchemaProps>).map(([name, sub]) => [
            name,
            structuralSchema(sub, `${at}.${name}`),
          ]),
        );
        break;
      case "items":
        out[keyword] = structuralSchema(value as SchemaProps, `${at}[]`);
        break;
      case "const":
        out.enum = [value];
        break;
      default:
        out[keyword] = value;
    }
  }
  if (typeof out.type !== "string") throw new Error(`${at}: no type`);
  return sortedKeys(out);
}

/** The one union the API server allows: an integer or a string (resource.Quantity, IntOrString). */
function intOrString(node: SchemaProps): SchemaProps {
  const branches = (node.anyOf ?? []) as SchemaProps[];
  const { description, default: defaultValue } = node;
  const { pattern } = branches.find((branch) => branch.type === "string") ?? {};
  return sortedKeys({
    ...(description === undefined ? {} : { description }),
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    ...(pattern === undefined ? {} : { pattern }),
    anyOf: [{ type: "integer" }, { type: "string" }],
    "x-kubernetes-int-or-string": true,
  });
}

/** Alphabetical, as controller-gen writes CRDs: stable output and familiar diffs. */
function sortedKeys(props: SchemaProps): SchemaProps {
  return Object.fromEntries(Object.entries(props).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

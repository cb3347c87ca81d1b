// The chart's values schema rendered three ways, all from charts/values/schema.ts: the JSON Schema helm
// checks values against, values.yaml (every default, commented with its description), and the rows of
// the README's values table.
import { Document, isMap, type YAMLMap } from "yaml";
import { z } from "zod";
import { valuesSchema } from "./schema.ts";

/** The JSON Schema subset this file reads. */
interface JsonSchema {
  description?: string;
  type?: string;
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: unknown;
}

/** The chart's own groups of keys (strict objects); Kubernetes types such as resources are one value. */
const isGroup = (schema: JsonSchema | undefined) =>
  schema?.properties !== undefined && schema.additionalProperties === false;

/** Draft 7: helm 3's validator predates 2020-12. Input shapes: a key with a default is optional. */
export function valuesJsonSchema(): JsonSchema & Record<string, unknown> {
  return z.toJSONSchema(valuesSchema, { target: "draft-7", io: "input" }) as JsonSchema &
    Record<string, unknown>;
}

export function valuesSchemaFile(): string {
  return `${JSON.stringify(valuesJsonSchema(), null, 2)}\n`;
}

/** Every default, as parsing no values at all yields them. */
export function defaultValues(): Record<string, unknown> {
  return valuesSchema.parse({});
}

/** Text wrapped to `width` columns, for comments. */
function wrap(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

function comment(map: YAMLMap, schema: JsonSchema, topLevel: boolean): void {
  for (const [index, pair] of map.items.entries()) {
    const key = pair.key as { value: string; commentBefore?: string; spaceBefore?: boolean };
    const property = schema.properties?.[key.value];
    if (property?.description) {
      key.commentBefore = wrap(property.description)
        .map((line) => ` ${line}`)
        .join("\n");
    }
    if (topLevel && index > 0) key.spaceBefore = true;
    if (isGroup(property) && property && isMap(pair.value)) comment(pair.value, property, false);
  }
}

export function valuesYaml(header: string): string {
  const document = new Document(defaultValues());
  if (isMap(document.contents)) comment(document.contents, valuesJsonSchema(), true);
  document.commentBefore = header;
  return document.toString({ lineWidth: 110 });
}

export interface ValueRow {
  key: string;
  type: string;
  default: unknown;
  description: string;
}

function typeName(schema: JsonSchema): string {
  if (schema.anyOf) return schema.anyOf.map(typeName).join(" or ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(", ");
  if (schema.type === "array" && schema.items?.type) return `${schema.items.type}[]`;
  return schema.type ?? "object";
}

/** One row per value (a key that is not a group), in the schema's order. */
export function valueRows(): ValueRow[] {
  const defaults = defaultValues();
  const rows: ValueRow[] = [];
  const visit = (schema: JsonSchema, path: string[], value: unknown) => {
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      const child = (value as Record<string, unknown>)[name];
      if (isGroup(property)) {
        visit(property, [...path, name], child);
      } else {
        const key = [...path, name].join(".");
        rows.push({ key, type: typeName(property), default: child, description: property.description ?? "" });
      }
    }
  };
  visit(valuesJsonSchema(), [], defaults);
  return rows;
}

// The values schema's three renderings agree with it and with each other.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse, parseDocument } from "yaml";
import { chartReadme } from "../readme.ts";
import { defaultValues, valueRows, valuesJsonSchema, valuesYaml } from "./render.ts";
import { type Values, valuesSchema } from "./schema.ts";

test("values.yaml holds exactly the schema's defaults, which the schema accepts", () => {
  const values = parse(valuesYaml(" header")) as Values;
  assert.deepEqual(values, defaultValues());
  assert.deepEqual(valuesSchema.parse(values), values);
  assert.equal(values.replicas, 2);
  assert.equal(values.crds.enabled, true);
  assert.equal(values.monitoring.serviceMonitor.enabled, "auto");
});

test("every key of values.yaml is commented with its description", () => {
  const document = parseDocument(valuesYaml(" header"));
  const schema = valuesJsonSchema() as { properties: Record<string, { description?: string }> };
  const pairs = document.contents && "items" in document.contents ? document.contents.items : [];
  for (const pair of pairs as { key: { value: string; commentBefore?: string } }[]) {
    const description = schema.properties[pair.key.value]?.description ?? "";
    assert.ok(description !== "", `${pair.key.value} has a description`);
    // (the parser gives the file's header to the first key's comment)
    const comment = pair.key.commentBefore?.replaceAll(/\n ?/g, " ").trim() ?? "";
    assert.ok(comment.endsWith(description.replaceAll(/\s+/g, " ")), `${pair.key.value}: ${comment}`);
  }
  assert.match(valuesYaml(" header"), /^# header\n\n# The Postern image/);
});

test("the JSON Schema is draft 7 and refuses keys it does not know, at every level of the chart's own", () => {
  const schema = valuesJsonSchema();
  assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
  assert.equal(schema.additionalProperties, false);
  const monitoring = (schema.properties as Record<string, Record<string, unknown>>).monitoring;
  assert.equal(monitoring?.additionalProperties, false);
});

test("the README's table has one row per value, with its default and description", () => {
  const rows = valueRows();
  const readme = chartReadme();
  for (const key of [
    "image.repository",
    "crds.enabled",
    "watchNamespaces",
    "monitoring.serviceMonitor.enabled",
    "test.caSecret.name",
    "resources",
  ]) {
    assert.ok(
      rows.some((r) => r.key === key),
      key,
    );
  }
  // Kubernetes types are one value each, not a row per field of theirs.
  assert.ok(!rows.some((r) => r.key.startsWith("resources.") || r.key.startsWith("affinity.")));
  for (const row of rows) {
    const line = readme.split("\n").find((l) => l.startsWith(`| \`${row.key}\` |`));
    assert.ok(line, `a row for ${row.key}`);
    assert.ok(line.includes(`\`${JSON.stringify(row.default).replaceAll("|", "\\|")}\``), line);
  }
  const serviceMonitor = rows.find((r) => r.key === "monitoring.serviceMonitor.enabled");
  assert.equal(serviceMonitor?.type, '"auto" or boolean');
});

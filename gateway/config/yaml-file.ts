// Reads a YAML file and validates it against a zod schema. Every failure becomes one ConfigError
// whose message names the file and the field path, so a bad mounted ConfigMap or Secret is
// diagnosable from a single log line.
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function parseYamlText<S extends z.ZodType>(file: string, text: string, schema: S): z.infer<S> {
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(`${file}: invalid YAML: ${(err as Error).message}`);
  }
  const result = schema.safeParse(data ?? {});
  if (!result.success) {
    const lines = result.error.issues.map(
      (i) => `${file}: ${z.core.toDotPath(i.path) || "(root)"}: ${i.message}`,
    );
    throw new ConfigError(lines.join("\n"));
  }
  return result.data;
}

export async function readYamlFile<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parseYamlText(file, text, schema);
}

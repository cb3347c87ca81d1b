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
  if (!result.success)
    throw new ConfigError(result.error.issues.flatMap((i) => issueLines(file, i)).join("\n"));
  return result.data;
}

/** One line per problem; an unknown key is named by its own path (a typo such as
 *  `policy.senderAligment` would otherwise leave the default silently in force). */
function issueLines(file: string, issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${file}: ${z.core.toDotPath([...issue.path, key])}: unknown field`);
  }
  return [`${file}: ${z.core.toDotPath(issue.path) || "(root)"}: ${issue.message}`];
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

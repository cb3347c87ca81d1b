// The operator's entry point to validation: a typed object with every default filled in, or the fields at fault.
import { z } from "zod";

export interface FieldIssue {
  /** Where, as the API server would name it: `spec.listeners[1].port`. */
  path: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[]; error: string };

export function parser<S extends z.ZodType>(schema: S): (obj: unknown) => Parsed<z.output<S>> {
  return (obj) => {
    const result = schema.safeParse(obj);
    if (result.success) return { ok: true, value: result.data };
    const issues = result.error.issues.map((issue) => ({
      path: z.core.toDotPath(issue.path) || "(root)",
      message: issue.message,
    }));
    return { ok: false, issues, error: issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ") };
  };
}

// `node crds/generate.ts` writes the CRD YAML and docs/api.md from the zod schemas;
// `node crds/generate.ts --check` writes nothing and exits 1 naming each file that differs.
// `--root DIR` works on another checkout (the tests use a scratch copy).
import { generateCommand } from "../hack/generated-files.ts";
import { generatedFiles } from "./render.ts";

await generateCommand(generatedFiles(), "crds/schema");

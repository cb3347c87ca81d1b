// `node charts/release/generate.ts` (make manifests) writes charts/release/postern.yaml; `--check`
// (make check-manifests) writes nothing and exits 1 when the committed file differs from the chart.
import { generateCommand } from "../../hack/generated-files.ts";
import { RELEASE_MANIFEST, releaseManifest } from "./render.ts";

await generateCommand(
  new Map([[RELEASE_MANIFEST, await releaseManifest()]]),
  "charts/postern",
  "make manifests",
);

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { apiReference } from "./api-doc.ts";
import { allRules } from "./cel.ts";
import { customResourceDefinition } from "./crd.ts";
import { kinds } from "./render.ts";

const doc = apiReference(kinds.map(customResourceDefinition));
const headings = new Set(
  [...doc.matchAll(/^#+ (.+)$/gm)].map(([, text]) => text?.toLowerCase().replace(/[^a-z0-9 _-]/g, "")),
);

describe("docs/api.md", () => {
  it("has a section for each kind's spec and status", () => {
    for (const title of [
      "SubmissionGateway.spec",
      "SubmissionGateway.status",
      "SmtpUser.spec",
      "SmtpUser.status",
    ]) {
      assert.match(doc, new RegExp(`^### ${title.replace(".", "\\.")}$`, "m"));
    }
  });

  it("documents fields with their type, default and constraints", () => {
    assert.match(doc, /^\| `replicas` \| integer \| {2}\| `2` \| Gateway pods\. .* At least 0\. \|$/m);
    assert.match(doc, /^\| `relay` \| \[object\]\(#submissiongatewayspecrelay\) \| yes \|/m);
    assert.match(doc, /^\| `maxMessageSize` \| int-or-string \| {2}\| `"25Mi"` \|/m);
  });

  it("fences patterns holding a backtick with two", () => {
    assert.ok(doc.includes("Each item: matches `` ^[A-Za-z0-9#$&'*+/=?^_`{\\|}~-]+"));
  });

  it("states every CEL rule's message", () => {
    // A field's rule starts a sentence, so its first letter may be capitalised.
    const text = doc.toLowerCase();
    for (const { message } of Object.values(allRules))
      assert.ok(text.includes(message.toLowerCase()), message);
  });

  it("links only to headings that exist", () => {
    for (const [, target] of doc.matchAll(/\]\(#([^)]+)\)/g)) assert.ok(headings.has(target), `#${target}`);
  });

  it("points at Kubernetes' reference for the upstream types instead of repeating them", () => {
    assert.match(doc, /\| `affinity` \| \[Kubernetes Affinity\]\(https:\/\/kubernetes\.io\/docs\//);
    assert.doesNotMatch(doc, /podAntiAffinity/);
  });
});

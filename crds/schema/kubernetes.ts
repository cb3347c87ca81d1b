// Typed mirrors of the upstream Kubernetes types Postern's API embeds (meta/v1 and core/v1, as of 1.32),
// so the CRD stays structural without x-kubernetes-preserve-unknown-fields and `kubectl explain` documents
// them. Fields Postern has no use for are left out; the API server prunes them.
import { z } from "zod";

const qualifiedName = z.string().min(1).max(316);

/** Points docs/api.md at Kubernetes' own reference instead of repeating it (kubectl explain still has it all). */
const upstream = (type: string, page: string) => ({
  externalDocs: {
    description: `Kubernetes ${type}`,
    url: `https://kubernetes.io/docs/reference/kubernetes-api/${page}`,
  },
});
const names = (what: string) => z.array(z.string()).describe(what);

/** metadata as the operator reads it; the CRD declares metadata as a bare object (the API server owns it). */
export const objectMeta = z
  .object({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    generation: z.int().optional(),
  })
  .loose();

/** An RFC 3339 timestamp; the API server checks the format. */
export const dateTime = z.string().meta({ format: "date-time" });

/** A resource.Quantity: an integer or a string such as "500m", "128Mi" or "1.5G". */
export const quantity = z
  .union([
    z.int(),
    z
      .string()
      .regex(
        /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/,
      ),
  ])
  .meta({ "x-kubernetes-int-or-string": true });

/** meta/v1 Condition, field for field. */
export const condition = z.object({
  type: qualifiedName
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
    )
    .describe("Type of condition in CamelCase."),
  status: z.enum(["True", "False", "Unknown"]).describe("Status of the condition: True, False or Unknown."),
  observedGeneration: z
    .int()
    .min(0)
    .optional()
    .describe(
      "The .metadata.generation the condition was set for; older than the object's means out of date.",
    ),
  lastTransitionTime: dateTime.describe("When the condition last changed from one status to another."),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .describe("Programmatic identifier, in CamelCase, of the reason for the last transition."),
  message: z.string().max(32768).describe("Human-readable details of the last transition."),
});

const labelSelectorRequirement = z.object({
  key: qualifiedName.describe("The label key the selector applies to."),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]).describe("How the key relates to the values."),
  values: names("Values for In and NotIn; must be empty for Exists and DoesNotExist.").optional(),
});

/** meta/v1 LabelSelector. An empty selector matches everything. */
export const labelSelector = z
  .object({
    matchLabels: z
      .record(z.string(), z.string())
      .optional()
      .describe("Labels that must all be present with exactly these values."),
    matchExpressions: z
      .array(labelSelectorRequirement)
      .optional()
      .describe("Label requirements that must all hold."),
  })
  .meta({
    "x-kubernetes-map-type": "atomic",
    ...upstream("LabelSelector", "common-definitions/label-selector/"),
  });

/** core/v1 ResourceRequirements (limits and requests; dynamic resource claims are not supported). */
export const resourceRequirements = z.object({
  limits: z
    .record(z.string(), quantity)
    .optional()
    .describe("Maximum compute resources allowed, by resource name."),
  requests: z
    .record(z.string(), quantity)
    .optional()
    .describe("Compute resources the scheduler reserves, by resource name; defaults to limits."),
});

/** core/v1 Toleration. */
export const toleration = z
  .object({
    key: z
      .string()
      .optional()
      .describe("Taint key the toleration applies to; empty with Exists matches all taints."),
    operator: z
      .enum(["Exists", "Equal"])
      .optional()
      .describe("Exists matches any value; Equal (the default) matches `value`."),
    value: z.string().optional().describe("Taint value the toleration matches, for operator Equal."),
    effect: z
      .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
      .optional()
      .describe("Taint effect to match; empty matches all effects."),
    tolerationSeconds: z
      .int()
      .optional()
      .describe("For NoExecute: how long the pod stays bound after the taint appears; unset means forever."),
  })
  .meta(upstream("Toleration", "workload-resources/pod-v1/#scheduling"));

const nodeSelectorRequirement = z.object({
  key: z.string().describe("The label key (or field name) the requirement applies to."),
  operator: z
    .enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"])
    .describe("How the key relates to the values."),
  values: names(
    "Values to compare with; one integer for Gt and Lt, none for Exists and DoesNotExist.",
  ).optional(),
});

const nodeSelectorTerm = z.object({
  matchExpressions: z.array(nodeSelectorRequirement).optional().describe("Requirements on node labels."),
  matchFields: z.array(nodeSelectorRequirement).optional().describe("Requirements on node fields."),
});

const weight = z
  .int32()
  .min(1)
  .max(100)
  .describe("Weight, 1 to 100, added to a node's score when the term matches.");

const podAffinityTerm = z.object({
  labelSelector: labelSelector.optional().describe("Which pods the term is about."),
  namespaceSelector: labelSelector.optional().describe("Namespaces to look for those pods in, by label."),
  namespaces: names("Namespaces to look for those pods in, by name; with neither, the pod's own.").optional(),
  topologyKey: z
    .string()
    .min(1)
    .describe("Node label whose value defines co-location (e.g. topology.kubernetes.io/zone)."),
  matchLabelKeys: names(
    "Label keys whose values, taken from the incoming pod, are ANDed into labelSelector.",
  ).optional(),
  mismatchLabelKeys: names(
    "Label keys whose values, taken from the incoming pod, must differ for pods matching labelSelector.",
  ).optional(),
});

const podAffinityRules = (verb: string) =>
  z.object({
    requiredDuringSchedulingIgnoredDuringExecution: z
      .array(podAffinityTerm)
      .optional()
      .describe(`Terms that must all hold for the pod to be ${verb} matching pods.`),
    preferredDuringSchedulingIgnoredDuringExecution: z
      .array(
        z.object({
          weight,
          podAffinityTerm: podAffinityTerm.describe("The term whose match adds the weight."),
        }),
      )
      .optional()
      .describe(`Terms the scheduler prefers, scoring nodes where the pod is ${verb} matching pods.`),
  });

/** core/v1 Affinity. */
export const affinity = z
  .object({
    nodeAffinity: z
      .object({
        requiredDuringSchedulingIgnoredDuringExecution: z
          .object({
            nodeSelectorTerms: z
              .array(nodeSelectorTerm)
              .describe("Terms ORed together; each term's requirements are ANDed."),
          })
          .optional()
          .describe("Node requirements that must hold at scheduling time."),
        preferredDuringSchedulingIgnoredDuringExecution: z
          .array(
            z.object({
              weight,
              preference: nodeSelectorTerm.describe("The term whose match adds the weight."),
            }),
          )
          .optional()
          .describe("Node preferences the scheduler scores."),
      })
      .optional()
      .describe("Which nodes the pods may run on, by node label."),
    podAffinity: podAffinityRules("co-located with")
      .optional()
      .describe("Co-locate the pods with other pods (same node, zone, ...)."),
    podAntiAffinity: podAffinityRules("kept apart from")
      .optional()
      .describe("Keep the pods apart from other pods, e.g. spread gateway replicas over zones."),
  })
  .meta(upstream("Affinity", "workload-resources/pod-v1/#scheduling"));

// A kind's zod schema and presentation → its apiextensions.k8s.io/v1 CustomResourceDefinition.
import { z } from "zod";
import { type SchemaProps, structuralSchema } from "./openapi.ts";
import { group, version } from "./schema/common.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
}

/** What a kind's schema file declares; everything else about its CRD is common to Postern's kinds. */
export interface KindSource {
  kind: string;
  plural: string;
  shortNames: string[];
  description: string;
  /** The zod object with apiVersion, kind, metadata, spec and status. */
  schema: z.ZodType;
  printerColumns: PrinterColumn[];
  /** Fields usable in `kubectl get --field-selector` (and the operator's list calls). */
  selectableFields?: string[];
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: "Namespaced";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: SchemaProps };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      selectableFields?: { jsonPath: string }[];
    }[];
  };
}

// The descriptions Kubernetes' own types carry, so `kubectl explain` reads the same as for built-in kinds.
const typeMeta = {
  apiVersion: {
    description:
      "APIVersion defines the versioned schema of this representation of an object. Servers should convert " +
      "recognized schemas to the latest internal value, and may reject unrecognized values.",
    type: "string",
  },
  kind: {
    description:
      "Kind is a string value representing the REST resource this object represents. Servers may infer this " +
      "from the endpoint the client submits requests to. In CamelCase.",
    type: "string",
  },
  metadata: { type: "object" },
};

export function customResourceDefinition(source: KindSource): CustomResourceDefinition {
  const json = z.toJSONSchema(source.schema, { target: "openapi-3.0", io: "input", reused: "inline" });
  const { spec, status } = json.properties as { spec: SchemaProps; status: SchemaProps };
  const openAPIV3Schema = {
    description: source.description,
    properties: {
      ...typeMeta,
      spec: structuralSchema(spec, "spec"),
      status: structuralSchema(status, "status"),
    },
    required: ["spec"],
    type: "object",
  };
  const { selectableFields } = source;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${source.plural}.${group}` },
    spec: {
      group,
      names: {
        kind: source.kind,
        listKind: `${source.kind}List`,
        plural: source.plural,
        singular: source.kind.toLowerCase(),
        shortNames: source.shortNames,
        categories: ["postern"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema },
          subresources: { status: {} },
          additionalPrinterColumns: source.printerColumns,
          ...(selectableFields && { selectableFields: selectableFields.map((jsonPath) => ({ jsonPath })) }),
        },
      ],
    },
  };
}

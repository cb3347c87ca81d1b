// OpenTelemetry tracing, configured only by the standard OTEL_* environment variables and off
// unless an OTLP endpoint (or OTEL_TRACES_EXPORTER=otlp) is set. When off, the API's no-op tracer
// is used, so a span costs a function call and nothing else, and the SDK is never even loaded
// (it is tens of MiB of resident memory in every gateway and operator process).
import { type Span, SpanStatusCode, trace } from "@opentelemetry/api";

export const tracer = trace.getTracer("postern-gateway");

export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === "true") return false;
  if (env.OTEL_TRACES_EXPORTER) return env.OTEL_TRACES_EXPORTER.split(",").includes("otlp");
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** Starts exporting if the environment asks for it; resolves with a flush-and-stop function. The
 *  operator shares it, under its own default service name. */
export async function initTracing(
  env: NodeJS.ProcessEnv = process.env,
  defaultServiceName = "postern-gateway",
): Promise<() => Promise<void>> {
  if (!tracingRequested(env)) return async () => {};
  const [
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { BatchSpanProcessor, NodeTracerProvider },
    { ATTR_SERVICE_NAME },
  ] = await Promise.all([
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? defaultServiceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  return () => provider.shutdown();
}

/** Ends a span with an error status when `failed`, as the semantic conventions ask. */
export function endSpan(span: Span, failed?: string): void {
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: failed });
  span.end();
}

/** Trace ids for log lines, so a log line leads to its trace. */
export function traceFields(span: Span | undefined): Record<string, string> {
  const context = span?.spanContext();
  if (!context || !trace.isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}

// Setting up

export { AsyncLocalStorageContextManager } from './context/async-local-storage-context-manager.ts';
// Context helpers
export { isTracingSuppressed, suppressTracing } from './context/suppress.ts';
export type { BatchSpanProcessorOptions, ResolvedBatchSpanProcessorConfig } from './export/batch-span-processor.ts';
export {
  BATCH_SPAN_PROCESSOR_DEFAULTS,
  BatchSpanProcessor,
  resolveBatchSpanProcessorConfig,
} from './export/batch-span-processor.ts';
export type {
  OtlpCompression,
  OtlpHttpConfigOptions,
  OtlpRetryOptions,
  ResolvedOtlpHttpConfig,
} from './export/otlp-config.ts';
export { OTLP_HTTP_DEFAULTS, parseOtlpHeaders, resolveOtlpHttpConfig } from './export/otlp-config.ts';
export type { OtlpHttpExporterOptions } from './export/otlp-http-exporter.ts';
export { OtlpExportError, OtlpHttpExporter, parseRetryAfter } from './export/otlp-http-exporter.ts';
export { SimpleSpanProcessor } from './export/simple-span-processor.ts';
// Instrumentation
export type {
  HttpCaptureHeaders,
  HttpInstrumentationHandle,
  HttpInstrumentationOptions,
} from './instrumentation/http.ts';
export { enableHttpInstrumentation, setHttpRoute } from './instrumentation/http.ts';
// Messaging
export type {
  AmqpHeaders,
  KafkaHeaders,
  KafkaHeaderValue,
  MessageCarrierKind,
  NatsHeaders,
} from './messaging/carriers.ts';
export { extractMessageContext, injectMessageContext } from './messaging/message-context.ts';
export type {
  BatchConsumerSpanOptions,
  ConsumerSpanOptions,
  MessagingSpan,
  ProducerSpanOptions,
} from './messaging/spans.ts';
export { startBatchConsumerSpan, startConsumerSpan, startProducerSpan } from './messaging/spans.ts';
export { AWSXRayPropagator, XRAY_HEADER } from './propagation/aws-xray.ts';
export type { B3InjectEncoding, B3PropagatorOptions } from './propagation/b3.ts';
export { B3Propagator } from './propagation/b3.ts';
export { CompositePropagator } from './propagation/composite.ts';
export { DEFAULT_PROPAGATORS, propagatorFromEnv } from './propagation/from-env.ts';
export type { JaegerPropagatorOptions } from './propagation/jaeger.ts';
export { JaegerPropagator, UBER_BAGGAGE_PREFIX, UBER_TRACE_ID_HEADER } from './propagation/jaeger.ts';
export { parseTraceState, W3CTraceState } from './propagation/trace-state.ts';
export { BAGGAGE_HEADER, W3CBaggagePropagator } from './propagation/w3c-baggage.ts';
// Propagation
export {
  parseTraceparent,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  W3CTraceContextPropagator,
} from './propagation/w3c-trace-context.ts';
export type { ResourceOptions } from './resource/resource.ts';
export { buildResource, parseResourceAttributesEnv, SDK_NAME, SDK_VERSION } from './resource/resource.ts';
export { AlwaysOffSampler, AlwaysOnSampler } from './sampling/basic.ts';
export type { SamplerEnv } from './sampling/env.ts';
export { samplerFromEnv } from './sampling/env.ts';
export type { ParentBasedSamplerOptions } from './sampling/parent-based.ts';
export { ParentBasedSampler } from './sampling/parent-based.ts';
export type { RateLimitingSamplerOptions } from './sampling/rate-limiting.ts';
export { RateLimitingSampler } from './sampling/rate-limiting.ts';
export type { JaegerRemoteSamplerOptions, SamplingStrategy } from './sampling/remote.ts';
export { JaegerRemoteSampler, parseSamplingStrategy } from './sampling/remote.ts';
export { TraceIdRatioBasedSampler } from './sampling/trace-id-ratio.ts';
// Sampling
export type { Sampler, SamplingResult } from './sampling/types.ts';
export { SamplingDecision } from './sampling/types.ts';
export type { StartedTracing, StartTracingOptions } from './start.ts';
export { startTracing } from './start.ts';
export type { IdGenerator } from './trace/id-generator.ts';
export { RandomIdGenerator } from './trace/id-generator.ts';
export type { ResolvedSpanLimits, SpanLimits } from './trace/span-limits.ts';
export { DEFAULT_SPAN_LIMITS, resolveSpanLimits } from './trace/span-limits.ts';
export { Tracer } from './trace/tracer.ts';
export type { GetTracerOptions, RegisterOptions, TracerProviderOptions } from './trace/tracer-provider.ts';
export { TracerProvider } from './trace/tracer-provider.ts';
// Processing and export
export type { ExportResult, FinishedSpan, SpanExporter, SpanProcessor } from './trace/types.ts';

export type { Sampler, SamplingResult } from './sampling/types.ts';
export { SamplingDecision } from './sampling/types.ts';
export type { ExportResult, FinishedSpan, SpanExporter, SpanProcessor } from './trace/types.ts';

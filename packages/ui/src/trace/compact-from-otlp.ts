/**
 * A trace opened from a local OTLP/JSON file: decoded by `@traceloom/wire`,
 * assembled, given its critical path and written in the compact view by
 * `@traceloom/model` (the same code the server runs for a stored trace), so
 * the trace page draws it exactly like a stored trace. Runs in the worker.
 */
import { assembleTrace, criticalPath, type TraceCompactJson, traceToCompactJson } from '@traceloom/model';
import { decodeOtlpTracesJson } from '@traceloom/wire';

/**
 * The compact view of the trace in an OTLP/JSON text (`TracesData` or an
 * export request). Spans of several traces are assembled together, with the
 * model's mixed-trace warning. Throws the decoder's error on bad input, and
 * an `Error` when the file holds no span.
 */
export function compactFromOtlpJson(text: string): TraceCompactJson {
  const spans = decodeOtlpTracesJson(text);
  if (spans.length === 0) throw new Error('the file holds no span (expected OTLP/JSON with resourceSpans)');
  const trace = assembleTrace(spans);
  return traceToCompactJson({ trace, criticalPath: criticalPath(trace) });
}

/**
 * The analytics part of the native API (`/api/v1/metrics/...`,
 * `/api/v1/service-graph`; see packages/server/openapi.yaml): RED metrics and
 * the service graph, computed by the server's pipeline before any sampling.
 */
import { getJson } from '../api/client.ts';

export interface ServiceOverview {
  readonly service: string;
  readonly calls: number;
  readonly errors: number;
  /** Calls per second over the range. */
  readonly rate: number;
  readonly errorRatio: number;
  readonly p95Ms: number | null;
  readonly callsPerStep: readonly number[];
}

export interface ServicesOverview {
  readonly startUnixNano: string;
  readonly endUnixNano: string;
  readonly stepSeconds: number;
  readonly services: readonly ServiceOverview[];
}

export interface RedPoint {
  readonly timeUnixNano: string;
  readonly timeMillis: number;
  readonly calls: number;
  readonly errors: number;
  readonly rate: number;
  readonly errorRatio: number | null;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

export interface RedSeries {
  readonly service: string;
  readonly startUnixNano: string;
  readonly endUnixNano: string;
  readonly stepSeconds: number;
  readonly series: readonly { readonly operation?: string; readonly points: readonly RedPoint[] }[];
}

export interface OperationStats {
  readonly operation: string;
  readonly spanKind: number;
  readonly spanKindName: string;
  readonly calls: number;
  readonly errors: number;
  readonly rate: number;
  readonly errorRatio: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

export interface OperationsTable {
  readonly service: string;
  readonly startUnixNano: string;
  readonly endUnixNano: string;
  readonly operations: readonly OperationStats[];
}

export type GraphNodeType = 'service' | 'user' | 'database' | 'virtual';

export interface ServiceGraphEdge {
  readonly client: string;
  readonly server: string;
  readonly connectionType: '' | 'messaging_system' | 'database' | 'virtual_node';
  readonly requests: number;
  readonly failed: number;
  readonly rate: number;
  readonly errorRatio: number;
  readonly clientP95Ms?: number | null;
  readonly serverP95Ms?: number | null;
}

export interface ServiceGraphData {
  readonly startUnixNano: string;
  readonly endUnixNano: string;
  readonly nodes: readonly { readonly name: string; readonly type: GraphNodeType }[];
  readonly edges: readonly ServiceGraphEdge[];
}

/** A range as the pages keep it in their URL: a look-back such as `1h`. */
export interface RangeQuery {
  readonly lookback: string;
  /** Span kinds (`server`, `consumer`, ...); the server's default (entry spans) when empty. */
  readonly spanKinds?: readonly string[];
}

function rangeParams(q: RangeQuery): URLSearchParams {
  const p = new URLSearchParams({ lookback: q.lookback });
  for (const k of q.spanKinds ?? []) p.append('spanKind', k);
  return p;
}

export function fetchServicesOverview(q: RangeQuery, signal?: AbortSignal): Promise<ServicesOverview> {
  return getJson<ServicesOverview>('/api/v1/metrics/services', rangeParams(q), signal);
}

export function fetchServiceRed(service: string, q: RangeQuery, signal?: AbortSignal): Promise<RedSeries> {
  return getJson<RedSeries>(`/api/v1/metrics/services/${encodeURIComponent(service)}`, rangeParams(q), signal);
}

export function fetchOperations(service: string, q: RangeQuery, signal?: AbortSignal): Promise<OperationsTable> {
  return getJson<OperationsTable>(
    `/api/v1/metrics/services/${encodeURIComponent(service)}/operations`,
    rangeParams(q),
    signal,
  );
}

export function fetchServiceGraph(q: RangeQuery, signal?: AbortSignal): Promise<ServiceGraphData> {
  return getJson<ServiceGraphData>('/api/v1/service-graph', new URLSearchParams({ lookback: q.lookback }), signal);
}

/** Look-backs offered by the analytics pages. */
export const ANALYTICS_RANGES: readonly { readonly value: string; readonly label: string }[] = [
  { value: '15m', label: 'Last 15 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '168h', label: 'Last 7 days' },
];

/** The look-back of a page URL's query string (`?lookback=6h`), `1h` when absent or unknown. */
export function lookbackFrom(search: string): string {
  const v = new URLSearchParams(search).get('lookback');
  return ANALYTICS_RANGES.some((r) => r.value === v) ? (v as string) : '1h';
}

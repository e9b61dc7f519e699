import { type InstrumentationScope, type Resource, type Span, serviceNameOf } from './span.ts';

/**
 * The columnar batch the server passes from stage to stage (receiver -> WAL ->
 * pipeline -> storage). The columns that stages filter, group and index on are
 * typed arrays or string arrays, one entry per span, so a storage writer can
 * append them column by column without walking objects; the full span rows
 * stay reachable through {@link SpanBatch.spans} for attributes, events and
 * links. Resources and scopes are deduplicated by identity: each distinct
 * object appears once in `resources` / `scopes`, and spans point at it by
 * index.
 *
 * A batch is immutable once built. It is built eagerly from spans
 * ({@link SpanBatch.from}) or lazily ({@link SpanBatch.lazy}): then only
 * `length` is known at first, and the spans and every column are made on the
 * first read of any of them, once. The OTLP receivers hand the pipeline lazy
 * batches, so that a request is answered after a validation pass over its
 * bytes and decoded where its spans are first needed.
 *
 * @example
 * const batch = SpanBatch.from(decodeOtlpProto(body).spans);
 * for (let i = 0; i < batch.length; i++) console.log(batch.serviceName[batch.resourceIndex[i]], batch.name[i]);
 */
export class SpanBatch {
  /** Number of spans. */
  readonly length: number;
  /** The spans themselves, in batch order. */
  readonly spans: readonly Span[];
  /** Distinct resources of this batch. */
  readonly resources: readonly Resource[];
  /** `service.name` of each entry of {@link resources} (`unknown_service` when absent). */
  readonly serviceName: readonly string[];
  /** Distinct instrumentation scopes of this batch. */
  readonly scopes: readonly InstrumentationScope[];
  /** Per span: index into {@link resources} and {@link serviceName}. */
  readonly resourceIndex: Uint32Array;
  /** Per span: index into {@link scopes}. */
  readonly scopeIndex: Uint32Array;
  /** Per span: trace id, 32 lowercase hex digits. */
  readonly traceId: readonly string[];
  /** Per span: span id, 16 lowercase hex digits. */
  readonly spanId: readonly string[];
  /** Per span: parent span id, '' for roots. */
  readonly parentSpanId: readonly string[];
  /** Per span: span name. */
  readonly name: readonly string[];
  /** Per span: {@link SpanKind} number. */
  readonly kind: Uint8Array;
  /** Per span: {@link StatusCode} number. */
  readonly statusCode: Uint8Array;
  /** Per span: start, nanoseconds since the Unix epoch. */
  readonly startUnixNano: BigUint64Array;
  /** Per span: end, nanoseconds since the Unix epoch. */
  readonly endUnixNano: BigUint64Array;
  /** Per span: end minus start in nanoseconds; negative when a producer sent end < start. */
  readonly durationNano: BigInt64Array;

  private constructor(spans: readonly Span[]) {
    const n = spans.length;
    this.length = n;
    this.spans = spans;
    const resources: Resource[] = [];
    const serviceName: string[] = [];
    const scopes: InstrumentationScope[] = [];
    const resourceSlot = new Map<Resource, number>();
    const scopeSlot = new Map<InstrumentationScope, number>();
    this.resourceIndex = new Uint32Array(n);
    this.scopeIndex = new Uint32Array(n);
    this.traceId = new Array<string>(n);
    this.spanId = new Array<string>(n);
    this.parentSpanId = new Array<string>(n);
    this.name = new Array<string>(n);
    this.kind = new Uint8Array(n);
    this.statusCode = new Uint8Array(n);
    this.startUnixNano = new BigUint64Array(n);
    this.endUnixNano = new BigUint64Array(n);
    this.durationNano = new BigInt64Array(n);
    const traceId = this.traceId as string[];
    const spanId = this.spanId as string[];
    const parentSpanId = this.parentSpanId as string[];
    const name = this.name as string[];
    for (let i = 0; i < n; i++) {
      const s = spans[i] as Span;
      let r = resourceSlot.get(s.resource);
      if (r === undefined) {
        r = resources.length;
        resources.push(s.resource);
        serviceName.push(serviceNameOf(s.resource));
        resourceSlot.set(s.resource, r);
      }
      let c = scopeSlot.get(s.scope);
      if (c === undefined) {
        c = scopes.length;
        scopes.push(s.scope);
        scopeSlot.set(s.scope, c);
      }
      this.resourceIndex[i] = r;
      this.scopeIndex[i] = c;
      traceId[i] = s.traceId;
      spanId[i] = s.spanId;
      parentSpanId[i] = s.parentSpanId;
      name[i] = s.name;
      this.kind[i] = s.kind;
      this.statusCode[i] = s.status.code;
      this.startUnixNano[i] = s.startTimeUnixNano;
      this.endUnixNano[i] = s.endTimeUnixNano;
      this.durationNano[i] = BigInt.asIntN(64, s.endTimeUnixNano - s.startTimeUnixNano);
    }
    this.resources = resources;
    this.serviceName = serviceName;
    this.scopes = scopes;
  }

  /** Builds a batch over `spans` (which it keeps; do not mutate them afterwards). */
  static from(spans: readonly Span[]): SpanBatch {
    return new SpanBatch(spans);
  }

  /**
   * A batch of `length` spans that `load` will produce, called on the first
   * read of `spans` or of any column (never before, and at most once when it
   * returns). `load` must return exactly `length` spans; when it does not, or
   * throws, the read throws and the next read calls it again.
   *
   * Reads of a materialised lazy batch cost what reads of an eager one do:
   * materialising turns the batch's accessors into plain own fields.
   *
   * @example
   * const { spans } = scanOtlpTraces(body); // validated, counted, not decoded
   * await sink.write(SpanBatch.lazy(spans, () => decodeOtlpTraces(body)), meta);
   */
  static lazy(length: number, load: () => readonly Span[]): SpanBatch {
    const batch = Object.create(LAZY_PROTOTYPE) as SpanBatch & Loading;
    Object.defineProperty(batch, 'length', { value: length, enumerable: true });
    Object.defineProperty(batch, LOADER, { value: load, writable: true });
    return batch;
  }

  /** One batch holding the spans of all `batches`, in order. */
  static concat(batches: readonly SpanBatch[]): SpanBatch {
    if (batches.length === 1) return batches[0] as SpanBatch;
    const all: Span[] = [];
    for (const b of batches) for (const s of b.spans) all.push(s);
    return new SpanBatch(all);
  }

  /** The service name of span `i`. */
  serviceOf(i: number): string {
    return this.serviceName[this.resourceIndex[i] as number] as string;
  }
}

/** The fields that a lazy batch computes on first read: every own field of an eager batch but `length`. */
type Column = Exclude<
  {
    [K in keyof SpanBatch]: SpanBatch[K] extends (...args: never[]) => unknown ? never : K;
  }[keyof SpanBatch],
  'length'
>;
const COLUMNS: readonly Column[] = [
  'spans',
  'resources',
  'serviceName',
  'scopes',
  'resourceIndex',
  'scopeIndex',
  'traceId',
  'spanId',
  'parentSpanId',
  'name',
  'kind',
  'statusCode',
  'startUnixNano',
  'endUnixNano',
  'durationNano',
];

/**
 * Where a lazy batch keeps its loader until it is read: on the batch itself
 * (non-enumerable), not in a WeakMap beside it. A batch that is never read
 * (a counting sink) then dies young with its loader and whatever the loader
 * holds (a request body); a WeakMap entry would keep them until a full
 * garbage collection, and the bodies' memory drove frequent ones.
 */
const LOADER = Symbol('SpanBatch.loader');
interface Loading {
  [LOADER]: (() => readonly Span[]) | undefined;
}

/**
 * Builds the columns of a lazy batch and defines them as own, read-only data
 * fields, which shadow the accessors of {@link LAZY_PROTOTYPE} from then on.
 */
function materialize(batch: SpanBatch & Loading): void {
  const load = batch[LOADER];
  if (load === undefined) throw new Error('SpanBatch: lazy batch has no loader (materialised twice?)');
  const spans = load();
  if (spans.length !== batch.length) {
    throw new Error(`SpanBatch: lazy batch of ${batch.length} spans loaded ${spans.length}`);
  }
  const eager = SpanBatch.from(spans);
  for (const key of COLUMNS) Object.defineProperty(batch, key, { value: eager[key], enumerable: true });
  // Let the loader and what it holds go (set, not deleted, so the batch keeps its shape).
  batch[LOADER] = undefined;
}

/**
 * The prototype of lazy batches: {@link SpanBatch.prototype} (so methods and
 * `instanceof` work) plus one accessor per column that materialises the batch.
 * Eager batches never see these accessors: their constructor defines the
 * columns as own fields, so their reads stay plain field loads.
 */
const LAZY_PROTOTYPE: SpanBatch = Object.create(
  SpanBatch.prototype,
  Object.fromEntries(
    COLUMNS.map((key) => [
      key,
      {
        get(this: SpanBatch & Loading) {
          materialize(this);
          return this[key];
        },
      },
    ]),
  ),
);

import {
  type Span as ApiSpan,
  type SpanStatus as ApiSpanStatus,
  type Attributes,
  type AttributeValue,
  diag,
  type Exception,
  type Link,
  type SpanContext,
  SpanStatusCode,
  type TimeInput,
  type TraceState,
} from '@opentelemetry/api';
import {
  type AnyValue,
  type InstrumentationScope,
  idWordsToHex,
  type KeyValue,
  type Span as ModelSpan,
  type Resource,
  type SpanEvent,
  type SpanLink,
  type SpanStatus,
  type TraceIdWords,
} from '@traceloom/model';
import { flatToKeyValues, NO_KEY_VALUES, toAnyValue, toFlatAttributes, toKeyValues } from './attributes.ts';
import { nowUnixNano, timeInputToUnixNano } from './clock.ts';
import type { ResolvedSpanLimits } from './span-limits.ts';

/** OTLP `SpanFlags`: bit 8 says whether bit 9 (parent or linked context is remote) is known. */
export const FLAG_HAS_IS_REMOTE = 0x100;
/** OTLP `SpanFlags`: the parent (or the linked span) is remote. */
export const FLAG_IS_REMOTE = 0x200;

const UNSET_STATUS: SpanStatus = Object.freeze({ code: 0, message: '' });
const OK_STATUS: SpanStatus = Object.freeze({ code: 1, message: '' });
const NO_EVENTS: readonly SpanEvent[] = Object.freeze([]) as readonly SpanEvent[];
const NO_LINKS: readonly SpanLink[] = Object.freeze([]) as readonly SpanLink[];

/** Up to this many pairs duplicates are found by scanning; above it, with a Map. */
const LINEAR_KEY_SCAN = 16;

/**
 * Removes repeated keys from a flat `[key, value, ...]` array in place: each
 * key keeps its first position and its last value, as assigning to an
 * attribute map would.
 */
function compact(flat: unknown[]): void {
  const pairs = flat.length >>> 1;
  let w = 0;
  if (pairs <= LINEAR_KEY_SCAN) {
    outer: for (let r = 0; r < flat.length; r += 2) {
      const key = flat[r];
      for (let i = 0; i < w; i += 2) {
        if (flat[i] === key) {
          flat[i + 1] = flat[r + 1];
          continue outer;
        }
      }
      flat[w] = key;
      flat[w + 1] = flat[r + 1];
      w += 2;
    }
  } else {
    const seen = new Map<unknown, number>();
    for (let r = 0; r < flat.length; r += 2) {
      const key = flat[r];
      const at = seen.get(key);
      if (at !== undefined) {
        flat[at + 1] = flat[r + 1];
        continue;
      }
      seen.set(key, w);
      flat[w] = key;
      flat[w + 1] = flat[r + 1];
      w += 2;
    }
  }
  flat.length = w;
}

/**
 * An event as a span records it: attributes kept as a flat `[key, value, ...]`
 * list of distinct keys with plain numbers (the wire encoder's
 * `FlatAttributes`), typed into the model's list only when `attributes` is
 * read. Recording one costs one array, not an object per attribute, and the
 * OTLP encoder reads the flat list directly.
 */
class RecordedEvent implements SpanEvent {
  readonly timeUnixNano: bigint;
  readonly name: string;
  readonly droppedAttributesCount: number;
  readonly flatAttributes: readonly unknown[] | undefined;
  #attributes: readonly KeyValue[] | undefined;

  constructor(timeUnixNano: bigint, name: string, flat: readonly unknown[] | undefined, dropped: number) {
    this.timeUnixNano = timeUnixNano;
    this.name = name;
    this.droppedAttributesCount = dropped;
    this.flatAttributes = flat;
    this.#attributes = flat === undefined ? NO_KEY_VALUES : undefined;
  }

  get attributes(): readonly KeyValue[] {
    let list = this.#attributes;
    if (list === undefined) {
      list = flatToKeyValues(this.flatAttributes as readonly unknown[]);
      this.#attributes = list;
    }
    return list;
  }
}

/** What every span of one tracer shares: set up once, read on the hot path. */
export interface SpanOwner {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly limits: ResolvedSpanLimits;
  /** Hands the finished span to the processors. */
  spanEnded(span: RecordingSpan): void;
  /** Makes the span id of a non-recording span's context when someone asks for it. */
  newSpanId(): string;
}

/** End states: not ended, ended, ended and a second `end()` already warned about. */
const Ended = { NO: 0, YES: 1, WARNED: 2 } as const;
type Ended = (typeof Ended)[keyof typeof Ended];

/**
 * A recorded span. One object is both the OpenTelemetry API span that user
 * code holds and, once ended, the model `Span` that processors and exporters
 * read: its public fields are the model's fields, so ending a span builds no
 * second object. Attributes wait in a flat list until they are read (see
 * `attributes`). Ids are kept as numbers (id words, see `TraceIdWords` in
 * `@traceloom/model`), which the OTLP encoder writes as they are; their hex
 * is made when `traceId`, `spanId`, `parentSpanId` or `spanContext()` is
 * first read. After `end()` every mutator is a no-op, so what processors were
 * given does not change under them.
 */
export class RecordingSpan implements ApiSpan, ModelSpan {
  /** The trace id, shared with the other spans of the trace made in this process. */
  readonly traceIdWords: TraceIdWords;
  /** The span id as two id words. */
  readonly spanIdWord0: number;
  readonly spanIdWord1: number;
  /** The parent's span id as two id words; both 0 for a root span. */
  readonly parentSpanIdWord0: number;
  readonly parentSpanIdWord1: number;
  readonly traceState: string;
  readonly flags: number;
  name: string;
  readonly kind: number;
  readonly startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  droppedAttributesCount: number;
  events: readonly SpanEvent[];
  droppedEventsCount: number;
  links: readonly SpanLink[];
  droppedLinksCount: number;
  status: SpanStatus;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;

  readonly #owner: SpanOwner;
  readonly #traceStateObject: TraceState | undefined;
  #ended: Ended;
  #context: SpanContext | undefined;
  #flat: (string | AnyValue)[] | undefined;
  #attributeList: readonly KeyValue[] | undefined;
  #compactedLength: number;
  #spanIdHex: string | undefined;
  #parentSpanIdHex: string | undefined;

  /**
   * Used by the tracer; `kind` is the OTLP number, `flags` the W3C flags plus
   * OTLP's remote bits. `parentHex` is the parent's span id as hex when it is
   * at hand (it came as hex), else undefined.
   */
  constructor(
    owner: SpanOwner,
    name: string,
    kind: number,
    trace: TraceIdWords,
    span0: number,
    span1: number,
    parent0: number,
    parent1: number,
    parentHex: string | undefined,
    traceState: TraceState | undefined,
    flags: number,
    startTimeUnixNano: bigint,
  ) {
    this.traceIdWords = trace;
    this.spanIdWord0 = span0;
    this.spanIdWord1 = span1;
    this.parentSpanIdWord0 = parent0;
    this.parentSpanIdWord1 = parent1;
    this.traceState = traceState === undefined ? '' : traceState.serialize();
    this.flags = flags;
    this.name = name;
    this.kind = kind;
    this.startTimeUnixNano = startTimeUnixNano;
    this.endTimeUnixNano = 0n;
    this.droppedAttributesCount = 0;
    this.events = NO_EVENTS;
    this.droppedEventsCount = 0;
    this.links = NO_LINKS;
    this.droppedLinksCount = 0;
    this.status = UNSET_STATUS;
    this.resource = owner.resource;
    this.scope = owner.scope;
    this.#owner = owner;
    this.#traceStateObject = traceState;
    this.#ended = Ended.NO;
    this.#context = undefined;
    this.#flat = undefined;
    this.#attributeList = undefined;
    this.#compactedLength = -1;
    this.#spanIdHex = undefined;
    this.#parentSpanIdHex = parentHex;
  }

  /** The trace id as 32 lowercase hex digits. */
  get traceId(): string {
    return this.traceIdWords.hex;
  }

  /** The span id as 16 lowercase hex digits. */
  get spanId(): string {
    let hex = this.#spanIdHex;
    if (hex === undefined) {
      hex = idWordsToHex(this.spanIdWord0, this.spanIdWord1);
      this.#spanIdHex = hex;
    }
    return hex;
  }

  /** The parent's span id as 16 lowercase hex digits, '' for a root span. */
  get parentSpanId(): string {
    let hex = this.#parentSpanIdHex;
    if (hex === undefined) {
      const p0 = this.parentSpanIdWord0;
      const p1 = this.parentSpanIdWord1;
      hex = (p0 | p1) === 0 ? '' : idWordsToHex(p0, p1);
      this.#parentSpanIdHex = hex;
    }
    return hex;
  }

  spanContext(): SpanContext {
    let c = this.#context;
    if (c === undefined) {
      c = { traceId: this.traceIdWords.hex, spanId: this.spanId, traceFlags: this.flags & 0xff };
      if (this.#traceStateObject !== undefined) c.traceState = this.#traceStateObject;
      this.#context = c;
    }
    return c;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (value === undefined || value === null) return this;
    if (this.#ended !== Ended.NO) {
      this.#warnEnded('setAttribute');
      return this;
    }
    this.#set(key, value);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    if (this.#ended !== Ended.NO) {
      this.#warnEnded('setAttributes');
      return this;
    }
    if (attributes === null || typeof attributes !== 'object') return this;
    for (const key in attributes) {
      if (!Object.hasOwn(attributes, key)) continue;
      const value = attributes[key];
      if (value !== undefined && value !== null) this.#set(key, value);
    }
    return this;
  }

  /**
   * The attributes as the model's typed list. Until then they live in a flat
   * `[key, value, key, value, ...]` array of validated values, numbers still
   * plain: the list (one object per attribute, ints made `bigint`) is built
   * on first read, normally once by the exporter after the span ended.
   */
  get attributes(): readonly KeyValue[] {
    let list = this.#attributeList;
    if (list === undefined) {
      const flat = this.#compacted();
      list = flat === undefined ? NO_KEY_VALUES : flatToKeyValues(flat);
      this.#attributeList = list;
    }
    return list;
  }

  /**
   * The attributes as `[key, value, ...]` with numbers still plain (the wire
   * encoder's `FlatAttributes`), so that exporting a span does not build
   * the typed list; undefined when there are none. A key set more than once
   * may still be there more than once (first place, last value counts): the
   * encoder finds repeats at no cost, where resolving them here would compare
   * every key with every other.
   */
  get flatAttributes(): readonly unknown[] | undefined {
    return this.#flat;
  }

  /** The flat list with repeated keys resolved. */
  #compacted(): (string | AnyValue)[] | undefined {
    const flat = this.#flat;
    if (flat === undefined) return undefined;
    if (flat.length !== this.#compactedLength) {
      compact(flat);
      this.#compactedLength = flat.length;
    }
    return flat;
  }

  #set(key: string, raw: AttributeValue): void {
    if (typeof key !== 'string' || key.length === 0) {
      diag.warn(`traceloom: span "${this.name}": dropped an attribute with an empty or non-string key`);
      return;
    }
    const limits = this.#owner.limits;
    let value: AnyValue;
    switch (typeof raw) {
      case 'string':
        value = raw.length > limits.attributeValueLengthLimit ? raw.slice(0, limits.attributeValueLengthLimit) : raw;
        break;
      case 'number':
      case 'boolean':
        // Numbers stay numbers here; the int64/double split happens when the list is built.
        value = raw;
        break;
      default: {
        const converted = toAnyValue(raw, limits.attributeValueLengthLimit);
        if (converted === undefined) {
          diag.warn(`traceloom: span "${this.name}": dropped invalid value of attribute "${key}"`);
          return;
        }
        value = converted;
      }
    }
    this.#attributeList = undefined;
    const flat = this.#flat;
    if (flat === undefined && limits.attributeCountLimit > 0) {
      // A literal of two, grown by the next push to 22 slots: room for 11 attributes in
      // one reallocation, where growing from [] reallocates twice for 10 and leaves 47 slots.
      this.#flat = [key, value];
      return;
    }
    if (flat === undefined) {
      this.droppedAttributesCount++;
      return;
    }
    // A repeated key is appended and resolved (last value, first position) when the list is
    // built, so the common case costs no scan; only a full span looks for the key now.
    if (flat.length >>> 1 >= limits.attributeCountLimit) {
      // Compact only when pairs were appended since the last compaction, so a span that stays
      // full (more keys than the limit) pays one scan per call, not a rebuild.
      if (flat.length !== this.#compactedLength) {
        compact(flat);
        this.#compactedLength = flat.length;
      }
      for (let i = 0; i < flat.length; i += 2) {
        if (flat[i] === key) {
          flat[i + 1] = value;
          return;
        }
      }
      if (flat.length >>> 1 >= limits.attributeCountLimit) {
        this.droppedAttributesCount++;
        return;
      }
    }
    flat.push(key, value);
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    if (this.#ended !== Ended.NO) {
      this.#warnEnded('addEvent');
      return this;
    }
    let attributes: Attributes | undefined;
    if (isTimeInput(attributesOrStartTime)) {
      startTime = attributesOrStartTime;
    } else {
      attributes = attributesOrStartTime;
    }
    const limits = this.#owner.limits;
    if (limits.eventCountLimit === 0) {
      this.droppedEventsCount++;
      return this;
    }
    const time = (startTime === undefined ? undefined : timeInputToUnixNano(startTime)) ?? nowUnixNano();
    let flat: unknown[] | undefined;
    let dropped = 0;
    if (attributes !== undefined) {
      flat = [];
      dropped = toFlatAttributes(
        attributes,
        limits.attributePerEventCountLimit,
        limits.attributeValueLengthLimit,
        flat,
      );
      if (flat.length === 0) flat = undefined;
    }
    let events = this.events as SpanEvent[];
    if (events === NO_EVENTS) {
      events = [];
      this.events = events;
    } else if (events.length >= limits.eventCountLimit) {
      // Spec ("Span Limits"): the oldest events go first, so the latest stay visible.
      if (this.droppedEventsCount === 0)
        diag.debug(`traceloom: span "${this.name}": event limit reached, dropping the oldest`);
      events.shift();
      this.droppedEventsCount++;
    }
    events.push(new RecordedEvent(time, String(name), flat, dropped));
    return this;
  }

  addLink(link: Link): this {
    if (this.#ended !== Ended.NO) {
      this.#warnEnded('addLink');
      return this;
    }
    this.#link(link);
    return this;
  }

  addLinks(links: Link[]): this {
    if (this.#ended !== Ended.NO) {
      this.#warnEnded('addLinks');
      return this;
    }
    if (!Array.isArray(links)) return this;
    for (let i = 0; i < links.length; i++) this.#link(links[i] as Link);
    return this;
  }

  #link(link: Link): void {
    const c = link?.context;
    if (c === undefined || c === null || typeof c.traceId !== 'string' || typeof c.spanId !== 'string') {
      diag.warn(`traceloom: span "${this.name}": dropped a link without a span context`);
      return;
    }
    const limits = this.#owner.limits;
    if (this.links.length >= limits.linkCountLimit) {
      this.droppedLinksCount++;
      return;
    }
    let attributes = NO_KEY_VALUES;
    let dropped = typeof link.droppedAttributesCount === 'number' ? link.droppedAttributesCount : 0;
    if (link.attributes !== undefined) {
      const converted = toKeyValues(
        link.attributes,
        limits.attributePerLinkCountLimit,
        limits.attributeValueLengthLimit,
      );
      if (converted.attributes.length > 0) attributes = converted.attributes;
      dropped += converted.dropped;
    }
    let links = this.links as SpanLink[];
    if (links === NO_LINKS) {
      links = [];
      this.links = links;
    }
    links.push({
      traceId: c.traceId,
      spanId: c.spanId,
      traceState: c.traceState === undefined ? '' : c.traceState.serialize(),
      attributes,
      droppedAttributesCount: dropped,
      flags: (c.traceFlags & 0xff) | FLAG_HAS_IS_REMOTE | (c.isRemote === true ? FLAG_IS_REMOTE : 0),
    });
  }

  setStatus(status: ApiSpanStatus): this {
    if (this.#ended !== Ended.NO) {
      this.#warnEnded('setStatus');
      return this;
    }
    const code = status?.code;
    // Spec ("Set Status"): UNSET is ignored, OK is final, a description belongs to ERROR only.
    if (code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    if (code === SpanStatusCode.OK) {
      this.status = OK_STATUS;
    } else if (code === SpanStatusCode.ERROR) {
      const message = status.message;
      if (message !== undefined && typeof message !== 'string') {
        diag.warn(`traceloom: span "${this.name}": dropped a status message that is not a string`);
      }
      this.status = { code: 2, message: typeof message === 'string' ? message : '' };
    }
    return this;
  }

  updateName(name: string): this {
    if (this.#ended !== Ended.NO) {
      this.#warnEnded('updateName');
      return this;
    }
    this.name = String(name);
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.#ended !== Ended.NO) {
      if (this.#ended === Ended.YES) {
        diag.warn(`traceloom: span "${this.name}" ${this.traceId}-${this.spanId} was ended more than once`);
        this.#ended = Ended.WARNED;
      }
      return;
    }
    this.#ended = Ended.YES;
    let end = (endTime === undefined ? undefined : timeInputToUnixNano(endTime)) ?? nowUnixNano();
    if (end < this.startTimeUnixNano) {
      diag.warn(`traceloom: span "${this.name}" ends before it starts; its duration is set to 0`);
      end = this.startTimeUnixNano;
    }
    this.endTimeUnixNano = end;
    this.#owner.spanEnded(this);
  }

  isRecording(): boolean {
    return this.#ended === Ended.NO;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') {
      attributes['exception.message'] = exception;
    } else if (exception !== null && typeof exception === 'object') {
      const { code, name, message, stack } = exception as {
        code?: unknown;
        name?: unknown;
        message?: unknown;
        stack?: unknown;
      };
      if (code !== undefined && code !== null) attributes['exception.type'] = String(code);
      else if (typeof name === 'string') attributes['exception.type'] = name;
      if (typeof message === 'string') attributes['exception.message'] = message;
      if (typeof stack === 'string') attributes['exception.stacktrace'] = stack;
    }
    // Semantic conventions ("Exceptions"): one of exception.type and exception.message is required.
    if (attributes['exception.type'] === undefined && attributes['exception.message'] === undefined) {
      diag.warn(`traceloom: span "${this.name}": recordException got neither a type nor a message`);
      return;
    }
    this.addEvent('exception', attributes, time);
  }

  /** The trace state as the API object, for child spans; no span context is made for it. */
  apiTraceState(): TraceState | undefined {
    return this.#traceStateObject;
  }

  /** Whether `end()` has been called. */
  get ended(): boolean {
    return this.#ended !== Ended.NO;
  }

  #warnEnded(operation: string): void {
    diag.warn(`traceloom: ${operation} on span "${this.name}" ${this.traceId}-${this.spanId} after it ended; ignored`);
  }
}

function isTimeInput(v: unknown): v is TimeInput {
  return (
    typeof v === 'number' ||
    v instanceof Date ||
    (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number')
  );
}

/**
 * A span the sampler dropped: it records nothing and only carries its context,
 * so propagation and child spans still see the trace. Its span id is made on
 * first `spanContext()` call, so a dropped span nobody propagates costs no id.
 */
export class NonRecordingSpan implements ApiSpan {
  readonly #owner: SpanOwner;
  /** The trace id as words, or as hex when it came as hex (from a sampler's decision). */
  readonly #trace: TraceIdWords | string;
  readonly #traceState: TraceState | undefined;
  #context: SpanContext | undefined;

  constructor(owner: SpanOwner, trace: TraceIdWords | string, traceState: TraceState | undefined) {
    this.#owner = owner;
    this.#trace = trace;
    this.#traceState = traceState;
    this.#context = undefined;
  }

  spanContext(): SpanContext {
    let c = this.#context;
    if (c === undefined) {
      const t = this.#trace;
      c = { traceId: typeof t === 'string' ? t : t.hex, spanId: this.#owner.newSpanId(), traceFlags: 0 };
      if (this.#traceState !== undefined) c.traceState = this.#traceState;
      this.#context = c;
    }
    return c;
  }

  setAttribute(): this {
    return this;
  }

  setAttributes(): this {
    return this;
  }

  addEvent(): this {
    return this;
  }

  addLink(): this {
    return this;
  }

  addLinks(): this {
    return this;
  }

  setStatus(): this {
    return this;
  }

  updateName(): this {
    return this;
  }

  end(): void {}

  isRecording(): boolean {
    return false;
  }

  recordException(): void {}
}

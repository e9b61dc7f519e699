import type { Span } from '@traceloom/model';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { jsonSyntaxError } from '../internal/json-syntax.ts';
import {
  ModelToZipkin,
  ZIPKIN_KIND_NAMES,
  type ZipkinAnnotation,
  type ZipkinEndpoint,
  ZipkinKind,
  type ZipkinSpan,
  ZipkinToModel,
} from './mapping.ts';

/*
 * Zipkin v2 JSON (zipkin2-api.yaml, `ListOfSpans`). `JSON.parse` does the
 * parsing: it is native, and iterative, so deep nesting cannot exhaust the
 * stack. After a failure, `internal/json-syntax.ts` finds the character
 * position of the syntax error, which V8's messages do not always carry.
 */

const KINDS: Readonly<Record<string, number>> = {
  CLIENT: ZipkinKind.CLIENT,
  SERVER: ZipkinKind.SERVER,
  PRODUCER: ZipkinKind.PRODUCER,
  CONSUMER: ZipkinKind.CONSUMER,
};

/**
 * Decodes a Zipkin v2 JSON array of spans (the body of `POST /api/v2/spans`)
 * into model spans; see `mapping.ts` for how Zipkin fields map onto the model.
 *
 * Throws {@link WireDecodeError}: `BAD_JSON` with the character offset for a
 * syntax error, `BAD_FIELD` naming the JSON path for a value of the wrong type
 * (`[3].traceId: expected 16 or 32 hex characters`).
 *
 * @example
 * const spans = decodeZipkinJson('[{"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","name":"get"}]');
 */
export function decodeZipkinJson(text: string): Span[] {
  // A byte order mark is not JSON, but some clients write one.
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (bom === 1) text = text.slice(1);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw jsonSyntaxError(text, e, bom);
  }
  if (!Array.isArray(root)) throw badField('(top level)', 'expected a JSON array of spans');
  const mapper = new ZipkinToModel();
  const spans: Span[] = [];
  for (let i = 0; i < root.length; i++) spans.push(mapper.span(readSpan(root[i], i)));
  return spans;
}

/**
 * Encodes model spans as a Zipkin v2 JSON array, as the OpenTelemetry
 * Collector's Zipkin exporter maps them (`service.name` -> local endpoint,
 * attributes -> string tags, events -> annotations, status -> tags, ns -> µs).
 * Fields are written in Zipkin's own order and omitted when empty.
 */
export function encodeZipkinJson(spans: readonly Span[]): string {
  const mapper = new ModelToZipkin();
  let out = '[';
  for (let i = 0; i < spans.length; i++) {
    if (i > 0) out += ',';
    out += spanJson(mapper.span(spans[i] as Span));
  }
  return `${out}]`;
}

function spanJson(z: ZipkinSpan): string {
  let s = `{"traceId":"${z.traceId}"`;
  if (z.parentId !== '') s += `,"parentId":"${z.parentId}"`;
  s += `,"id":"${z.id}"`;
  if (z.kind !== ZipkinKind.UNSPECIFIED) s += `,"kind":"${ZIPKIN_KIND_NAMES[z.kind]}"`;
  if (z.name !== '') s += `,"name":${JSON.stringify(z.name)}`;
  if (z.timestampMicros !== 0n) s += `,"timestamp":${z.timestampMicros}`;
  if (z.durationMicros !== 0n) s += `,"duration":${z.durationMicros}`;
  if (z.localEndpoint !== undefined) s += `,"localEndpoint":${endpointJson(z.localEndpoint)}`;
  if (z.remoteEndpoint !== undefined) s += `,"remoteEndpoint":${endpointJson(z.remoteEndpoint)}`;
  if (z.annotations.length > 0) {
    s += ',"annotations":[';
    for (let i = 0; i < z.annotations.length; i++) {
      const a = z.annotations[i] as ZipkinAnnotation;
      s += `${i > 0 ? ',' : ''}{"timestamp":${a.timestampMicros},"value":${JSON.stringify(a.value)}}`;
    }
    s += ']';
  }
  const n = z.tagKeys.length;
  if (n > 0) {
    s += ',"tags":{';
    for (let i = 0; i < n; i++) {
      s += `${i > 0 ? ',' : ''}${JSON.stringify(z.tagKeys[i])}:${JSON.stringify(z.tagValues[i])}`;
    }
    s += '}';
  }
  if (z.debug) s += ',"debug":true';
  if (z.shared) s += ',"shared":true';
  return `${s}}`;
}

function endpointJson(e: ZipkinEndpoint): string {
  const parts: string[] = [];
  if (e.serviceName !== '') parts.push(`"serviceName":${JSON.stringify(e.serviceName)}`);
  if (e.ipv4 !== '') parts.push(`"ipv4":${JSON.stringify(e.ipv4)}`);
  if (e.ipv6 !== '') parts.push(`"ipv6":${JSON.stringify(e.ipv6)}`);
  if (e.port !== 0) parts.push(`"port":${e.port}`);
  return `{${parts.join(',')}}`;
}

// ---------------------------------------------------------------------------
// Reading the parsed value
//
// Error paths (`[3].localEndpoint.port`) are built only when an error is
// thrown: built eagerly, they were a dozen string allocations per valid span
// (the mapping after JSON.parse is what bench/codecs.ts measures).

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readSpan(v: unknown, i: number): ZipkinSpan {
  if (!isObject(v)) throw badField(`[${i}]`, `expected a span object, got ${typeName(v)}`);
  const traceId = readTraceId(v.traceId, i);
  const id = readSpanId(v.id, i, 'id', true);
  const parentId = v.parentId === undefined || v.parentId === null ? '' : readSpanId(v.parentId, i, 'parentId', false);
  let kind: number = ZipkinKind.UNSPECIFIED;
  if (v.kind !== undefined && v.kind !== null) {
    if (typeof v.kind !== 'string') throw badField(`[${i}].kind`, `expected a string, got ${typeName(v.kind)}`);
    // An unknown kind is ignored, as Zipkin's own reader does.
    kind = KINDS[v.kind] ?? ZipkinKind.UNSPECIFIED;
  }
  const tagKeys: string[] = [];
  const tagValues: string[] = [];
  readTags(v.tags, i, tagKeys, tagValues);
  return {
    traceId,
    parentId,
    id,
    kind,
    name: optionalString(v.name, i, 'name'),
    timestampMicros: optionalMicros(v.timestamp, i, 'timestamp'),
    durationMicros: optionalMicros(v.duration, i, 'duration'),
    localEndpoint: readEndpoint(v.localEndpoint, i, 'localEndpoint'),
    remoteEndpoint: readEndpoint(v.remoteEndpoint, i, 'remoteEndpoint'),
    annotations: readAnnotations(v.annotations, i),
    tagKeys,
    tagValues,
    debug: optionalBoolean(v.debug, i, 'debug'),
    shared: optionalBoolean(v.shared, i, 'shared'),
  };
}

// What scanId found in an id, checked in one pass.
const ID_HEX = 0;
const ID_UPPERCASE = 1;
const ID_ZEROS = 2;
const ID_NOT_HEX = 3;

/** One pass over a hex id: not hex, all zeros, hex with uppercase digits, or lowercase hex. */
function scanId(s: string): number {
  let nonZero = false;
  let upper = false;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c >= 48 && c <= 57) {
      if (c !== 48) nonZero = true;
    } else if (c >= 97 && c <= 102) nonZero = true;
    else if (c >= 65 && c <= 70) {
      nonZero = true;
      upper = true;
    } else return ID_NOT_HEX;
  }
  return !nonZero ? ID_ZEROS : upper ? ID_UPPERCASE : ID_HEX;
}

function readTraceId(v: unknown, i: number): string {
  if (v === undefined || v === null) throw badField(`[${i}].traceId`, 'required');
  if (typeof v !== 'string') throw badField(`[${i}].traceId`, `expected a string, got ${typeName(v)}`);
  const scan = v.length === 16 || v.length === 32 ? scanId(v) : ID_NOT_HEX;
  if (scan === ID_HEX) return v;
  if (scan === ID_UPPERCASE) return v.toLowerCase();
  if (scan === ID_ZEROS) throw badField(`[${i}].traceId`, 'must not be all zeros');
  throw badField(`[${i}].traceId`, `expected 16 or 32 hex characters, got ${quote(v)}`);
}

/** A 16-hex span id. An all-zero parent id means "no parent"; an all-zero id is refused. */
function readSpanId(v: unknown, i: number, field: string, required: boolean): string {
  if (v === undefined || v === null) throw badField(`[${i}].${field}`, 'required');
  if (typeof v !== 'string') throw badField(`[${i}].${field}`, `expected a string, got ${typeName(v)}`);
  if (!required && v === '') return '';
  const scan = v.length === 16 ? scanId(v) : ID_NOT_HEX;
  if (scan === ID_HEX) return v;
  if (scan === ID_UPPERCASE) return v.toLowerCase();
  if (scan === ID_ZEROS) {
    if (required) throw badField(`[${i}].${field}`, 'must not be all zeros');
    return '';
  }
  throw badField(`[${i}].${field}`, `expected 16 hex characters, got ${quote(v)}`);
}

function optionalString(v: unknown, i: number, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw badField(`[${i}].${field}`, `expected a string, got ${typeName(v)}`);
  return v;
}

function optionalBoolean(v: unknown, i: number, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw badField(`[${i}].${field}`, `expected true or false, got ${typeName(v)}`);
  return v;
}

/**
 * Epoch or duration microseconds. Fractions are truncated: the OTel JS Zipkin
 * exporter writes `seconds * 1e6 + nanos / 1e3`, which is rarely whole. The
 * cap at 2^53 keeps `start + duration` in nanoseconds inside uint64.
 */
function optionalMicros(v: unknown, i: number, field: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) return BigInt(Math.trunc(v));
  throw badField(`[${i}].${field}`, microsProblem(v));
}

function microsProblem(v: unknown): string {
  if (typeof v !== 'number') return `expected a number of microseconds, got ${typeName(v)}`;
  return `expected a non-negative number of microseconds up to 2^53, got ${v}`;
}

function readEndpoint(v: unknown, i: number, field: string): ZipkinEndpoint | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw badField(`[${i}].${field}`, `expected an endpoint object, got ${typeName(v)}`);
  const serviceName = endpointString(v.serviceName, i, field, 'serviceName');
  // Addresses are kept as sent: they are only ever read back as text.
  const ipv4 = endpointString(v.ipv4, i, field, 'ipv4');
  const ipv6 = endpointString(v.ipv6, i, field, 'ipv6');
  let port = 0;
  if (v.port !== undefined && v.port !== null) {
    const p = v.port;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 0xffff) {
      throw badField(`[${i}].${field}.port`, `expected an integer from 0 to 65535, got ${describe(p)}`);
    }
    port = p;
  }
  if (serviceName === '' && ipv4 === '' && ipv6 === '' && port === 0) return undefined;
  return { serviceName, ipv4, ipv6, port };
}

function endpointString(v: unknown, i: number, field: string, member: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw badField(`[${i}].${field}.${member}`, `expected a string, got ${typeName(v)}`);
  return v;
}

function readAnnotations(v: unknown, i: number): ZipkinAnnotation[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badField(`[${i}].annotations`, `expected an array, got ${typeName(v)}`);
  const out: ZipkinAnnotation[] = [];
  for (let j = 0; j < v.length; j++) {
    const a: unknown = v[j];
    if (!isObject(a)) throw badField(`[${i}].annotations[${j}]`, `expected an annotation object, got ${typeName(a)}`);
    const timestamp = a.timestamp;
    const value = a.value;
    if (timestamp === undefined || timestamp === null) throw badField(`[${i}].annotations[${j}].timestamp`, 'required');
    if (value === undefined || value === null) throw badField(`[${i}].annotations[${j}].value`, 'required');
    if (!(typeof timestamp === 'number' && timestamp >= 0 && timestamp <= Number.MAX_SAFE_INTEGER)) {
      throw badField(`[${i}].annotations[${j}].timestamp`, microsProblem(timestamp));
    }
    if (typeof value !== 'string') {
      throw badField(`[${i}].annotations[${j}].value`, `expected a string, got ${typeName(value)}`);
    }
    out.push({ timestampMicros: BigInt(Math.trunc(timestamp)), value });
  }
  return out;
}

function readTags(v: unknown, i: number, keys: string[], values: string[]): void {
  if (v === undefined || v === null) return;
  if (!isObject(v)) throw badField(`[${i}].tags`, `expected an object of strings, got ${typeName(v)}`);
  for (const key of Object.keys(v)) {
    const value = v[key];
    switch (typeof value) {
      case 'string':
        keys.push(key);
        values.push(value);
        break;
      // Zipkin tags are strings, but clients send numbers and booleans too;
      // their JSON text is what a string-typed reader would have seen.
      case 'number':
      case 'boolean':
        keys.push(key);
        values.push(String(value));
        break;
      default:
        if (value === null) break;
        throw badField(`[${i}].tags[${JSON.stringify(key)}]`, `expected a string, got ${typeName(value)}`);
    }
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'object':
      return 'an object';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return typeof v;
  }
}

function describe(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeName(v);
}

/** A string for an error message, shortened so that a huge value cannot make a huge message. */
function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);
}

function badField(path: string, problem: string): WireDecodeError {
  return new WireDecodeError(WireErrorCode.BAD_FIELD, `${path}: ${problem}`);
}

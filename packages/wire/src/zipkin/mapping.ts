/**
 * The mapping between Zipkin v2 spans and the span model, shared by the JSON
 * and proto3 codecs. It follows the OpenTelemetry Collector's Zipkin
 * translator (`pkg/translator/zipkin/zipkinv2`, `ToTranslator` for Zipkin ->
 * OTLP and `FromTranslator` for OTLP -> Zipkin) with its current default
 * conventions, and departs from it only where the collector loses data, so
 * that `encode(decode(x))` gives back `x` for the spans Zipkin clients send:
 *
 * - `localEndpoint.serviceName` -> resource `service.name` (or the key named by
 *   the `otlp.service.name.source` tag); tags that are resource semantic
 *   conventions (`host.name`, `telemetry.sdk.language`, ...) -> resource
 *   attributes. Spans with the same service and resource tags share one
 *   `Resource` object per decode call (the collector groups by service only
 *   and keeps the first span's resource tags; we key on both).
 * - `otel.scope.name` / `otel.scope.version` (or the older
 *   `otel.library.name` / `otel.library.version`) -> the scope.
 * - kind CLIENT/SERVER/PRODUCER/CONSUMER -> 3/2/4/5; an absent kind -> INTERNAL,
 *   which is what the OTel Zipkin exporters mean by it (the collector says
 *   UNSPECIFIED unless a `span.kind=internal` tag is present, which we also
 *   accept and remove).
 * - `otel.status_code` (+ `otel.status_description`) and `error` -> the status.
 *   `error=true` is removed; any other `error` value stays an attribute (as in
 *   the collector) and also becomes the status message when there is none
 *   (what the OTel SDK exporters put there).
 * - `w3c.tracestate` -> trace state, `otlp.link.N` -> links,
 *   `otel.dropped_*_count` -> dropped counts.
 * - annotations -> events (µs -> ns); `name|{json attributes}|dropped`
 *   values, as the collector writes events with attributes, are split back.
 * - local endpoint address/port -> `network.local.address` /
 *   `network.local.port`; remote endpoint -> `service.peer.name`,
 *   `network.peer.address`, `network.peer.port` (the collector's
 *   `EmitV1NetworkConventions` names). When an endpoint has both an IPv4 and
 *   an IPv6 address, the IPv6 one goes to `zipkin.local_endpoint.ipv6` /
 *   `zipkin.remote_endpoint.ipv6` (the collector keeps only one).
 * - `debug` / `shared` -> boolean attributes `zipkin.debug` / `zipkin.shared`
 *   (the collector drops both).
 * - an absent timestamp -> start 0, end = duration, and the collector's
 *   `otel.zipkin.absentField.startTime=true` attribute.
 *
 * Encoding reverses all of it; other resource, scope and span attributes
 * become string tags (arrays and maps as JSON, bytes as base64).
 */
import {
  type AnyValue,
  EMPTY_RESOURCE,
  EMPTY_SCOPE,
  type InstrumentationScope,
  isKvList,
  type KeyValue,
  type Resource,
  type Span,
  type SpanEvent,
  SpanKind,
  type SpanLink,
  type SpanStatus,
  StatusCode,
  UNSET_STATUS,
} from '@traceloom/model';
import { parseIpv4, parseIpv6 } from './ip-address.ts';

/** Zipkin span kinds, numbered as in zipkin.proto `Span.Kind` (0 = absent). */
export const ZipkinKind = { UNSPECIFIED: 0, CLIENT: 1, SERVER: 2, PRODUCER: 3, CONSUMER: 4 } as const;

/** Zipkin JSON kind names, indexed by {@link ZipkinKind}. */
export const ZIPKIN_KIND_NAMES: readonly string[] = ['', 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'];

/** A Zipkin endpoint. '' and 0 stand for absent fields. Addresses are text in both codecs' intermediate form. */
export interface ZipkinEndpoint {
  serviceName: string;
  ipv4: string;
  ipv6: string;
  port: number;
}

/** A Zipkin annotation. */
export interface ZipkinAnnotation {
  timestampMicros: bigint;
  value: string;
}

/**
 * A Zipkin v2 span as both codecs read and write it: the wire fields, with
 * ids as lowercase hex and times as `bigint` microseconds (0 = absent).
 */
export interface ZipkinSpan {
  /** 16 or 32 lowercase hex digits. */
  traceId: string;
  /** '' for a root span. */
  parentId: string;
  id: string;
  /** A {@link ZipkinKind}. */
  kind: number;
  name: string;
  timestampMicros: bigint;
  durationMicros: bigint;
  localEndpoint: ZipkinEndpoint | undefined;
  remoteEndpoint: ZipkinEndpoint | undefined;
  annotations: ZipkinAnnotation[];
  /** Tags in wire order; a repeated key keeps its last value. */
  tags: Map<string, string>;
  debug: boolean;
  shared: boolean;
}

// Tag and attribute keys. The collector's own where it has one.
const SERVICE_NAME = 'service.name';
const SERVICE_NAME_SOURCE = 'otlp.service.name.source';
const SCOPE_NAME = 'otel.scope.name';
const SCOPE_VERSION = 'otel.scope.version';
const LIBRARY_NAME = 'otel.library.name';
const LIBRARY_VERSION = 'otel.library.version';
const STATUS_CODE = 'otel.status_code';
const STATUS_DESCRIPTION = 'otel.status_description';
const ERROR = 'error';
const TRACE_STATE = 'w3c.tracestate';
const SPAN_KIND = 'span.kind';
const LINK_PREFIX = 'otlp.link.';
const DROPPED_ATTRIBUTES = 'otel.dropped_attributes_count';
const DROPPED_EVENTS = 'otel.dropped_events_count';
const DROPPED_LINKS = 'otel.dropped_links_count';
const START_TIME_ABSENT = 'otel.zipkin.absentField.startTime';
const DEBUG = 'zipkin.debug';
const SHARED = 'zipkin.shared';
const LOCAL_ADDRESS = 'network.local.address';
const LOCAL_PORT = 'network.local.port';
const LOCAL_IPV6 = 'zipkin.local_endpoint.ipv6';
const PEER_SERVICE = 'service.peer.name';
const PEER_ADDRESS = 'network.peer.address';
const PEER_PORT = 'network.peer.port';
const REMOTE_IPV6 = 'zipkin.remote_endpoint.ipv6';
// Older names that other translators (and older collectors) write; read on encode.
const OLD_PEER_SERVICE = 'peer.service';
const OLD_PEER_IP = 'net.peer.ip';
const OLD_PEER_PORT = 'net.peer.port';
const OLD_HOST_IP = 'net.host.ip';
const OLD_HOST_PORT = 'net.host.port';

/** Resource attributes that may stand in for a missing `service.name`, in the collector's order. */
const SERVICE_NAME_FALLBACKS = ['faas.name', 'k8s.deployment.name', 'process.executable.name'] as const;

/**
 * Tags that belong to the resource: the resource semantic conventions of
 * semconv 1.6.1 plus the OpenCensus keys, as the collector lists them
 * (`nonSpanAttributes`), and a few newer resource names that OTel SDK Zipkin
 * exporters now send. `service.name` is absent on purpose: the local
 * endpoint is the authority for it.
 */
const RESOURCE_TAGS: ReadonlySet<string> = new Set([
  'cloud.provider',
  'cloud.account.id',
  'cloud.region',
  'cloud.availability_zone',
  'cloud.platform',
  'aws.ecs.container.arn',
  'aws.ecs.cluster.arn',
  'aws.ecs.launchtype',
  'aws.ecs.task.arn',
  'aws.ecs.task.family',
  'aws.ecs.task.revision',
  'aws.eks.cluster.arn',
  'aws.log.group.names',
  'aws.log.group.arns',
  'aws.log.stream.names',
  'aws.log.stream.arns',
  'container.name',
  'container.id',
  'container.runtime',
  'container.image.name',
  'container.image.tag',
  'deployment.environment',
  'deployment.environment.name',
  'device.id',
  'device.model.identifier',
  'device.model.name',
  'faas.name',
  'faas.id',
  'faas.version',
  'faas.instance',
  'faas.max_memory',
  'host.id',
  'host.name',
  'host.type',
  'host.arch',
  'host.image.name',
  'host.image.id',
  'host.image.version',
  'k8s.cluster.name',
  'k8s.node.name',
  'k8s.node.uid',
  'k8s.namespace.name',
  'k8s.pod.uid',
  'k8s.pod.name',
  'k8s.container.name',
  'k8s.replicaset.uid',
  'k8s.replicaset.name',
  'k8s.deployment.uid',
  'k8s.deployment.name',
  'k8s.statefulset.uid',
  'k8s.statefulset.name',
  'k8s.daemonset.uid',
  'k8s.daemonset.name',
  'k8s.job.uid',
  'k8s.job.name',
  'k8s.cronjob.uid',
  'k8s.cronjob.name',
  'os.type',
  'os.description',
  'os.name',
  'os.version',
  'process.pid',
  'process.executable.name',
  'process.executable.path',
  'process.command',
  'process.command_line',
  'process.command_args',
  'process.owner',
  'process.runtime.name',
  'process.runtime.version',
  'process.runtime.description',
  'service.namespace',
  'service.instance.id',
  'service.version',
  'telemetry.sdk.name',
  'telemetry.sdk.language',
  'telemetry.sdk.version',
  'telemetry.auto.version',
  'telemetry.distro.name',
  'telemetry.distro.version',
  'webengine.name',
  'webengine.version',
  'webengine.description',
  'opencensus.starttime',
  'opencensus.exporterversion',
  'opencensus.resourcetype',
]);

/** Zipkin kind -> model kind. */
const TO_MODEL_KIND: readonly number[] = [
  SpanKind.INTERNAL,
  SpanKind.CLIENT,
  SpanKind.SERVER,
  SpanKind.PRODUCER,
  SpanKind.CONSUMER,
];

const EMPTY: readonly never[] = Object.freeze([]);

/** Nesting limit for the JSON attribute maps inside annotation values and link tags. */
const MAX_JSON_DEPTH = 32;

// ---------------------------------------------------------------------------
// Zipkin -> model

/**
 * Turns Zipkin spans into model spans for one decode call, sharing resource
 * and scope objects between the spans that have the same ones.
 */
export class ZipkinToModel {
  readonly #resources = new Map<string, Resource>();
  readonly #scopes = new Map<Resource, Map<string, InstrumentationScope>>();

  /** The model span of `z`. Takes `z.tags` over (entries are removed as they are mapped). */
  span(z: ZipkinSpan): Span {
    const tags = z.tags;
    const resource = this.#resource(z, tags);
    const scope = this.#scope(resource, tags);
    const spanId = z.id;
    // The collector drops a parent equal to the span itself (a cycle).
    const parentSpanId = z.parentId === spanId ? '' : z.parentId;
    let traceState = '';
    // Zipkin has no INTERNAL kind: an absent (or unknown) kind is a local span.
    const kind = TO_MODEL_KIND[z.kind] ?? SpanKind.INTERNAL;
    let status: SpanStatus = UNSET_STATUS;
    let links: readonly SpanLink[] = EMPTY;
    let droppedAttributesCount = 0;
    let droppedEventsCount = 0;
    let droppedLinksCount = 0;
    if (tags.size > 0) {
      const ts = tags.get(TRACE_STATE);
      if (ts !== undefined) {
        traceState = ts;
        tags.delete(TRACE_STATE);
      }
      if (z.kind === ZipkinKind.UNSPECIFIED && tags.get(SPAN_KIND) === 'internal') tags.delete(SPAN_KIND);
      status = takeStatus(tags);
      if (tags.has(`${LINK_PREFIX}0`)) links = takeLinks(tags);
      droppedAttributesCount = takeCount(tags, DROPPED_ATTRIBUTES);
      droppedEventsCount = takeCount(tags, DROPPED_EVENTS);
      droppedLinksCount = takeCount(tags, DROPPED_LINKS);
    }

    const attributes: KeyValue[] = [];
    for (const [key, value] of tags) attributes.push({ key, value });
    endpointAttributes(attributes, z.localEndpoint, LOCAL_ADDRESS, LOCAL_PORT, LOCAL_IPV6, undefined);
    endpointAttributes(attributes, z.remoteEndpoint, PEER_ADDRESS, PEER_PORT, REMOTE_IPV6, PEER_SERVICE);
    if (z.debug) attributes.push({ key: DEBUG, value: true });
    if (z.shared) attributes.push({ key: SHARED, value: true });

    let startTimeUnixNano: bigint;
    if (z.timestampMicros === 0n) {
      // Zipkin allows an absent timestamp (late or partial data); OTLP has no
      // such thing. The collector starts the span at the epoch and marks it.
      startTimeUnixNano = 0n;
      attributes.push({ key: START_TIME_ABSENT, value: true });
    } else startTimeUnixNano = z.timestampMicros * 1000n;
    const endTimeUnixNano = startTimeUnixNano + z.durationMicros * 1000n;

    let events: readonly SpanEvent[] = EMPTY;
    if (z.annotations.length > 0) {
      const list: SpanEvent[] = [];
      for (const a of z.annotations) list.push(annotationToEvent(a));
      events = list;
    }

    return {
      traceId: z.traceId.length === 16 ? `0000000000000000${z.traceId}` : z.traceId,
      spanId,
      parentSpanId,
      traceState,
      flags: 0,
      name: z.name,
      kind,
      startTimeUnixNano,
      endTimeUnixNano,
      attributes: attributes.length === 0 ? EMPTY : attributes,
      droppedAttributesCount,
      events,
      droppedEventsCount,
      links,
      droppedLinksCount,
      status,
      resource,
      scope,
    };
  }

  #resource(z: ZipkinSpan, tags: Map<string, string>): Resource {
    const serviceName = z.localEndpoint?.serviceName ?? '';
    // 's' and 'c' prefixes keep the two key shapes from ever colliding.
    let key = `s${serviceName}`;
    let moved: [string, string][] | undefined;
    let serviceKey = SERVICE_NAME;
    if (tags.size > 0) {
      const source = tags.get(SERVICE_NAME_SOURCE);
      if (source !== undefined) {
        tags.delete(SERVICE_NAME_SOURCE);
        if (source !== '') serviceKey = source;
      }
      // OTel SDK exporters repeat the service name as a tag.
      if (tags.get(SERVICE_NAME) === serviceName && serviceName !== '') tags.delete(SERVICE_NAME);
      for (const [k, v] of tags) {
        if (RESOURCE_TAGS.has(k) && k !== serviceKey) {
          moved ??= [];
          moved.push([k, v]);
        }
      }
      if (moved !== undefined) {
        for (const [k] of moved) tags.delete(k);
        const sorted = moved.map(([k, v]) => JSON.stringify([k, v])).sort();
        key = `c${JSON.stringify([serviceName, serviceKey, sorted])}`;
      } else if (serviceKey !== SERVICE_NAME) key = `c${JSON.stringify([serviceName, serviceKey])}`;
    }
    let resource = this.#resources.get(key);
    if (resource === undefined) {
      if (serviceName === '' && moved === undefined) resource = EMPTY_RESOURCE;
      else {
        const attributes: KeyValue[] = [];
        if (serviceName !== '') attributes.push({ key: serviceKey, value: serviceName });
        if (moved !== undefined) for (const [k, v] of moved) attributes.push({ key: k, value: v });
        resource = { attributes, droppedAttributesCount: 0, schemaUrl: '' };
      }
      this.#resources.set(key, resource);
    }
    return resource;
  }

  #scope(resource: Resource, tags: Map<string, string>): InstrumentationScope {
    if (tags.size === 0) return EMPTY_SCOPE;
    const name = takeEither(tags, SCOPE_NAME, LIBRARY_NAME);
    const version = takeEither(tags, SCOPE_VERSION, LIBRARY_VERSION);
    if (name === '' && version === '') return EMPTY_SCOPE;
    let byName = this.#scopes.get(resource);
    if (byName === undefined) {
      byName = new Map();
      this.#scopes.set(resource, byName);
    }
    const key = `${name}\u0000${version}`;
    let scope = byName.get(key);
    if (scope === undefined) {
      scope = { name, version, attributes: EMPTY, droppedAttributesCount: 0, schemaUrl: '' };
      byName.set(key, scope);
    }
    return scope;
  }
}

/**
 * The value of `key` (else of `older`), removing both when they agree; when
 * they disagree the older key stays behind as an attribute.
 */
function takeEither(tags: Map<string, string>, key: string, older: string): string {
  const v = tags.get(key);
  const o = tags.get(older);
  if (v !== undefined) tags.delete(key);
  if (o !== undefined && (v === undefined || o === v)) tags.delete(older);
  return v ?? o ?? '';
}

/** Status from `otel.status_code`, `otel.status_description` and `error`, removing what it uses. */
function takeStatus(tags: Map<string, string>): SpanStatus {
  let code: number = StatusCode.UNSET;
  let message = '';
  const codeTag = tags.get(STATUS_CODE);
  if (codeTag !== undefined) {
    const parsed = parseStatusCode(codeTag);
    // An unknown value is kept as an attribute rather than silently read as UNSET.
    if (parsed !== undefined) {
      code = parsed;
      tags.delete(STATUS_CODE);
      const description = tags.get(STATUS_DESCRIPTION);
      if (description !== undefined) {
        message = description;
        tags.delete(STATUS_DESCRIPTION);
      }
    }
  }
  const error = tags.get(ERROR);
  if (error !== undefined) {
    // Zipkin marks any span with an `error` tag as failed, whatever its value.
    code = StatusCode.ERROR;
    if (error === 'true') tags.delete(ERROR);
    else if (message === '') message = error;
  }
  return code === StatusCode.UNSET && message === '' ? UNSET_STATUS : { code, message };
}

/**
 * `STATUS_CODE_ERROR` (collector), `Error` (older collector exporter) and
 * `ERROR` (OTel SDK exporters, the spec) all name the same code.
 */
function parseStatusCode(s: string): number | undefined {
  let v = s.toUpperCase();
  if (v.startsWith('STATUS_CODE_')) v = v.slice(12);
  if (v === 'UNSET') return StatusCode.UNSET;
  if (v === 'OK') return StatusCode.OK;
  if (v === 'ERROR') return StatusCode.ERROR;
  return undefined;
}

/** A `otel.dropped_*_count` tag as a number, removed when it is a valid uint32. */
function takeCount(tags: Map<string, string>, key: string): number {
  const v = tags.get(key);
  if (v === undefined) return 0;
  const n = parseUint32(v);
  if (n === undefined) return 0;
  tags.delete(key);
  return n;
}

function parseUint32(s: string): number | undefined {
  if (s.length === 0 || s.length > 10) return undefined;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n <= 0xffffffff ? n : undefined;
}

/**
 * Links from the collector's `otlp.link.N` tags
 * (`traceId|spanId|traceState|{json attributes}|droppedAttributesCount`),
 * read from N = 0 until one is missing. A malformed one stays an attribute.
 */
function takeLinks(tags: Map<string, string>): SpanLink[] {
  const links: SpanLink[] = [];
  for (let i = 0; ; i++) {
    const key = `${LINK_PREFIX}${i}`;
    const v = tags.get(key);
    if (v === undefined) break;
    const link = parseLink(v);
    if (link !== undefined) {
      links.push(link);
      tags.delete(key);
    }
  }
  return links;
}

function parseLink(v: string): SpanLink | undefined {
  const a = v.indexOf('|');
  const b = v.indexOf('|', a + 1);
  const c = v.indexOf('|', b + 1);
  const last = v.lastIndexOf('|');
  if (a !== 32 || b !== 49 || c < 0 || last <= c) return undefined;
  const traceId = v.slice(0, 32);
  const spanId = v.slice(33, 49);
  if (!isLowerHex(traceId) || !isLowerHex(spanId)) return undefined;
  const droppedAttributesCount = parseUint32(v.slice(last + 1));
  const attributes = parseJsonAttributes(v.slice(c + 1, last));
  if (droppedAttributesCount === undefined || attributes === undefined) return undefined;
  return { traceId, spanId, traceState: v.slice(b + 1, c), attributes, droppedAttributesCount, flags: 0 };
}

function isLowerHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * An annotation as an event. A value of the form `name|{json}|dropped` (how
 * the collector writes an event with attributes) is split into name,
 * attributes and dropped count; anything else is the event name as it is.
 */
function annotationToEvent(a: ZipkinAnnotation): SpanEvent {
  const timeUnixNano = a.timestampMicros * 1000n;
  const value = a.value;
  const last = value.lastIndexOf('|');
  if (last > 0 && value.charCodeAt(last - 1) === 125 /* } */) {
    const open = value.indexOf('|{');
    if (open >= 0 && open < last) {
      const dropped = parseUint32(value.slice(last + 1));
      const attributes = dropped === undefined ? undefined : parseJsonAttributes(value.slice(open + 1, last));
      if (dropped !== undefined && attributes !== undefined) {
        return { timeUnixNano, name: value.slice(0, open), attributes, droppedAttributesCount: dropped };
      }
    }
  }
  return { timeUnixNano, name: value, attributes: EMPTY, droppedAttributesCount: 0 };
}

/** A JSON object's members as attributes, or `undefined` when `text` is not a JSON object (or too deep). */
function parseJsonAttributes(text: string): KeyValue[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return jsonObjectToKeyValues(parsed as Record<string, unknown>, 1);
}

function jsonObjectToKeyValues(o: Record<string, unknown>, depth: number): KeyValue[] | undefined {
  const out: KeyValue[] = [];
  for (const key of Object.keys(o)) {
    const value = jsonToAnyValue(o[key], depth);
    if (value === undefined) return undefined;
    out.push({ key, value });
  }
  return out;
}

/** JSON -> attribute value as the collector reads it: integral numbers are int64, others double. */
function jsonToAnyValue(v: unknown, depth: number): AnyValue | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isSafeInteger(v) ? BigInt(v) : v;
    case 'object': {
      if (v === null) return null;
      if (depth >= MAX_JSON_DEPTH) return undefined;
      if (Array.isArray(v)) {
        const out: AnyValue[] = [];
        for (const e of v) {
          const x = jsonToAnyValue(e, depth + 1);
          if (x === undefined) return undefined;
          out.push(x);
        }
        return out;
      }
      const kvlist = jsonObjectToKeyValues(v as Record<string, unknown>, depth + 1);
      return kvlist === undefined ? undefined : { kvlist };
    }
    default:
      return undefined;
  }
}

/** Appends (or overwrites, as the collector does) the attributes of one endpoint. */
function endpointAttributes(
  attributes: KeyValue[],
  e: ZipkinEndpoint | undefined,
  addressKey: string,
  portKey: string,
  ipv6Key: string,
  serviceKey: string | undefined,
): void {
  if (e === undefined) return;
  if (serviceKey !== undefined && e.serviceName !== '') put(attributes, serviceKey, e.serviceName);
  if (e.ipv4 !== '') {
    put(attributes, addressKey, e.ipv4);
    if (e.ipv6 !== '') put(attributes, ipv6Key, e.ipv6);
  } else if (e.ipv6 !== '') put(attributes, addressKey, e.ipv6);
  if (e.port > 0) put(attributes, portKey, BigInt(e.port));
}

function put(attributes: KeyValue[], key: string, value: AnyValue): void {
  for (let i = 0; i < attributes.length; i++) {
    if ((attributes[i] as KeyValue).key === key) {
      attributes[i] = { key, value };
      return;
    }
  }
  attributes.push({ key, value });
}

// ---------------------------------------------------------------------------
// model -> Zipkin

/** What a resource contributes to every one of its spans, computed once per encode call. */
interface ResourceTags {
  readonly serviceName: string;
  readonly tags: readonly (readonly [string, string])[];
}

/** Turns model spans into Zipkin spans for one encode call, caching per-resource work. */
export class ModelToZipkin {
  readonly #resources = new Map<Resource, ResourceTags>();

  /** The Zipkin span of `s`. */
  span(s: Span): ZipkinSpan {
    const tags = new Map<string, string>();
    const res = this.#resource(s.resource);
    let debug = false;
    let shared = false;
    let error: string | undefined;
    // Endpoint attributes wait here until we know whether they form an endpoint.
    let held: Map<string, AnyValue> | undefined;
    for (const kv of s.attributes) {
      const key = kv.key;
      switch (key) {
        case DEBUG:
          debug = kv.value === true || kv.value === 'true';
          continue;
        case SHARED:
          shared = kv.value === true || kv.value === 'true';
          continue;
        case START_TIME_ABSENT:
          continue;
        case ERROR:
          error = anyValueToString(kv.value);
          continue;
        case LOCAL_ADDRESS:
        case LOCAL_PORT:
        case LOCAL_IPV6:
        case OLD_HOST_IP:
        case OLD_HOST_PORT:
        case PEER_SERVICE:
        case OLD_PEER_SERVICE:
        case PEER_ADDRESS:
        case PEER_PORT:
        case REMOTE_IPV6:
        case OLD_PEER_IP:
        case OLD_PEER_PORT:
          held ??= new Map();
          held.set(key, kv.value);
          continue;
        default:
          tags.set(key, anyValueToString(kv.value));
      }
    }
    // Resource and scope tags come after the span's own, which win on a clash
    // (the collector's aggregateSpanTags).
    for (const [k, v] of res.tags) if (!tags.has(k) && held?.has(k) !== true) tags.set(k, v);
    if (s.scope.name !== '' && !tags.has(SCOPE_NAME)) tags.set(SCOPE_NAME, s.scope.name);
    if (s.scope.version !== '' && !tags.has(SCOPE_VERSION)) tags.set(SCOPE_VERSION, s.scope.version);
    let localEndpoint: ZipkinEndpoint | undefined;
    let remoteEndpoint: ZipkinEndpoint | undefined;
    if (held !== undefined) {
      localEndpoint = takeEndpoint(held, res.serviceName, [], [LOCAL_ADDRESS, OLD_HOST_IP], LOCAL_IPV6, [
        LOCAL_PORT,
        OLD_HOST_PORT,
      ]);
      remoteEndpoint = takeEndpoint(
        held,
        '',
        [PEER_SERVICE, OLD_PEER_SERVICE],
        [PEER_ADDRESS, OLD_PEER_IP],
        REMOTE_IPV6,
        [PEER_PORT, OLD_PEER_PORT],
      );
      // Whatever did not fit an endpoint stays a tag.
      for (const [k, v] of held) tags.set(k, anyValueToString(v));
    } else if (res.serviceName !== '') {
      localEndpoint = { serviceName: res.serviceName, ipv4: '', ipv6: '', port: 0 };
    }

    if (s.traceState !== '') tags.set(TRACE_STATE, s.traceState);
    let kind: number = ZipkinKind.UNSPECIFIED;
    switch (s.kind) {
      case SpanKind.CLIENT:
        kind = ZipkinKind.CLIENT;
        break;
      case SpanKind.SERVER:
        kind = ZipkinKind.SERVER;
        break;
      case SpanKind.PRODUCER:
        kind = ZipkinKind.PRODUCER;
        break;
      case SpanKind.CONSUMER:
        kind = ZipkinKind.CONSUMER;
        break;
    }
    putStatus(tags, s.status, error);
    if (s.droppedAttributesCount > 0) tags.set(DROPPED_ATTRIBUTES, String(s.droppedAttributesCount));
    if (s.droppedEventsCount > 0) tags.set(DROPPED_EVENTS, String(s.droppedEventsCount));
    if (s.droppedLinksCount > 0) tags.set(DROPPED_LINKS, String(s.droppedLinksCount));
    for (let i = 0; i < s.links.length; i++) {
      const l = s.links[i] as SpanLink;
      tags.set(
        `${LINK_PREFIX}${i}`,
        `${l.traceId}|${l.spanId}|${l.traceState}|${keyValuesToJson(l.attributes)}|${l.droppedAttributesCount}`,
      );
    }

    const annotations: ZipkinAnnotation[] = [];
    for (const e of s.events) {
      annotations.push({
        timestampMicros: e.timeUnixNano / 1000n,
        value:
          e.attributes.length === 0 && e.droppedAttributesCount === 0
            ? e.name
            : `${e.name}|${keyValuesToJson(e.attributes)}|${e.droppedAttributesCount}`,
      });
    }

    // A start at the epoch is the collector's stand-in for an absent timestamp.
    const timestampMicros = s.startTimeUnixNano > 0n ? s.startTimeUnixNano / 1000n : 0n;
    const elapsed = s.endTimeUnixNano - s.startTimeUnixNano;
    // zipkin.proto: "Durations of less than one are rounded up."
    const durationMicros = elapsed <= 0n ? 0n : elapsed < 1000n ? 1n : elapsed / 1000n;

    const traceId = s.traceId.startsWith('0000000000000000') ? s.traceId.slice(16) : s.traceId;
    return {
      traceId,
      parentId: s.parentSpanId,
      id: s.spanId,
      kind,
      name: s.name,
      timestampMicros,
      durationMicros,
      localEndpoint,
      remoteEndpoint,
      annotations,
      tags,
      debug,
      shared,
    };
  }

  #resource(resource: Resource): ResourceTags {
    let r = this.#resources.get(resource);
    if (r !== undefined) return r;
    const attrs = resource.attributes;
    let serviceKey: string | undefined;
    let serviceName = '';
    for (const kv of attrs) {
      if (kv.key === SERVICE_NAME) {
        serviceKey = SERVICE_NAME;
        serviceName = anyValueToString(kv.value);
      }
    }
    if (serviceKey === undefined) {
      outer: for (const fallback of SERVICE_NAME_FALLBACKS) {
        for (const kv of attrs) {
          if (kv.key === fallback) {
            serviceKey = fallback;
            serviceName = anyValueToString(kv.value);
            break outer;
          }
        }
      }
    }
    const tags: [string, string][] = [];
    for (const kv of attrs) if (kv.key !== serviceKey) tags.push([kv.key, anyValueToString(kv.value)]);
    if (serviceKey !== undefined && serviceKey !== SERVICE_NAME) tags.push([SERVICE_NAME_SOURCE, serviceKey]);
    r = { serviceName, tags };
    this.#resources.set(resource, r);
    return r;
  }
}

/**
 * An endpoint from the held attributes, removing those it uses. `addressKeys`
 * and the others are in order of preference. Like the collector, an endpoint
 * needs a service name or an IP address; a port alone stays a tag.
 */
function takeEndpoint(
  held: Map<string, AnyValue>,
  serviceName: string,
  serviceKeys: readonly string[],
  addressKeys: readonly string[],
  ipv6Key: string,
  portKeys: readonly string[],
): ZipkinEndpoint | undefined {
  let service = serviceName;
  let serviceKey: string | undefined;
  for (const k of serviceKeys) {
    const v = held.get(k);
    if (v !== undefined) {
      service = anyValueToString(v);
      serviceKey = k;
      break;
    }
  }
  let ipv4 = '';
  let ipv6 = '';
  const used: string[] = [];
  for (const k of addressKeys) {
    const v = held.get(k);
    if (typeof v !== 'string') continue;
    if (parseIpv4(v) !== undefined) ipv4 = v;
    else if (parseIpv6(v) !== undefined) ipv6 = v;
    else continue;
    used.push(k);
    break;
  }
  const second = held.get(ipv6Key);
  if (ipv4 !== '' && typeof second === 'string' && parseIpv6(second) !== undefined) {
    ipv6 = second;
    used.push(ipv6Key);
  }
  if (service === '' && ipv4 === '' && ipv6 === '') return undefined;
  if (serviceKey !== undefined) held.delete(serviceKey);
  for (const k of used) held.delete(k);
  let port = 0;
  for (const k of portKeys) {
    const v = held.get(k);
    if (v === undefined) continue;
    const p = typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : 0;
    if (Number.isInteger(p) && p > 0 && p <= 0xffff) {
      port = p;
      held.delete(k);
      break;
    }
  }
  return { serviceName: service, ipv4, ipv6, port };
}

/**
 * Status tags. UNSET writes nothing and drops an `error` attribute (Zipkin
 * would read it as a failure; OTel spec, Zipkin exporter, "Status"). OK writes
 * `otel.status_code`. ERROR writes `error` (the attribute's value if the span
 * has one, else `true`), plus `otel.status_code` / `otel.status_description`
 * when the message would not otherwise come back from `error`.
 */
function putStatus(tags: Map<string, string>, status: SpanStatus, error: string | undefined): void {
  if (status.code === StatusCode.OK) {
    tags.set(STATUS_CODE, 'STATUS_CODE_OK');
    if (status.message !== '') tags.set(STATUS_DESCRIPTION, status.message);
    return;
  }
  if (status.code !== StatusCode.ERROR) return;
  tags.set(ERROR, error ?? 'true');
  const implied = error === undefined || error === 'true' ? '' : error;
  if (status.message !== implied) {
    tags.set(STATUS_CODE, 'STATUS_CODE_ERROR');
    if (status.message !== '') tags.set(STATUS_DESCRIPTION, status.message);
  }
}

/**
 * An attribute value as Zipkin tag text, as the collector's `AsString` does:
 * booleans `true`/`false`, numbers in decimal, bytes base64, arrays and maps
 * as JSON, an empty value as ''.
 */
export function anyValueToString(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
    case 'bigint':
    case 'number':
      return String(v);
    default:
      if (v === null) return '';
      if (v instanceof Uint8Array) return base64(v);
      return anyValueToJson(v);
  }
}

function keyValuesToJson(kvs: readonly KeyValue[]): string {
  let s = '{';
  // A repeated key keeps its last value, as a JSON object would on reading.
  const seen = new Map<string, string>();
  for (const kv of kvs) seen.set(kv.key, anyValueToJson(kv.value));
  let first = true;
  for (const [k, v] of seen) {
    s += `${first ? '' : ','}${JSON.stringify(k)}:${v}`;
    first = false;
  }
  return `${s}}`;
}

function anyValueToJson(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'number':
      // JSON has no NaN or infinities; their names keep the information.
      return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
    default:
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return JSON.stringify(base64(v));
      if (isKvList(v)) return keyValuesToJson(v.kvlist);
      return `[${(v as readonly AnyValue[]).map(anyValueToJson).join(',')}]`;
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with padding (no `Buffer`: the package also runs in browsers). */
function base64(b: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = ((b[i] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i + 2] as number);
    s += B64.charAt(n >> 18) + B64.charAt((n >> 12) & 63) + B64.charAt((n >> 6) & 63) + B64.charAt(n & 63);
  }
  if (i < b.length) {
    const two = i + 1 < b.length;
    const n = ((b[i] as number) << 16) | (two ? (b[i + 1] as number) << 8 : 0);
    s += `${B64.charAt(n >> 18)}${B64.charAt((n >> 12) & 63)}${two ? B64.charAt((n >> 6) & 63) : '='}=`;
  }
  return s;
}

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
  encodeBase64,
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
  /**
   * Tag keys in wire order, each once, beside {@link tagValues}. Parallel
   * arrays rather than a `Map`: building a map per span was the largest
   * cost of decoding.
   */
  tagKeys: string[];
  tagValues: string[];
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

  /** The model span of `z`. */
  span(z: ZipkinSpan): Span {
    const keys = z.tagKeys;
    const values = z.tagValues;
    const n = keys.length;
    const serviceName = z.localEndpoint?.serviceName ?? '';

    // Pass 1: the tags that map onto fields (the last one wins, as in a map).
    let traceState: string | undefined;
    let statusCode: string | undefined;
    let statusDescription: string | undefined;
    let error: string | undefined;
    let spanKind: string | undefined;
    let serviceTag: string | undefined;
    let serviceSource: string | undefined;
    let scopeName: string | undefined;
    let scopeVersion: string | undefined;
    let libraryName: string | undefined;
    let libraryVersion: string | undefined;
    let droppedAttributes: string | undefined;
    let droppedEvents: string | undefined;
    let droppedLinks: string | undefined;
    // Index of the `otlp.link.N` tags, so that finding them stays linear.
    let linkTags: Map<string, number> | undefined;
    for (let i = 0; i < n; i++) {
      const v = values[i] as string;
      switch (keys[i]) {
        case TRACE_STATE:
          traceState = v;
          break;
        case STATUS_CODE:
          statusCode = v;
          break;
        case STATUS_DESCRIPTION:
          statusDescription = v;
          break;
        case ERROR:
          error = v;
          break;
        case SPAN_KIND:
          spanKind = v;
          break;
        case SERVICE_NAME:
          serviceTag = v;
          break;
        case SERVICE_NAME_SOURCE:
          serviceSource = v;
          break;
        case SCOPE_NAME:
          scopeName = v;
          break;
        case SCOPE_VERSION:
          scopeVersion = v;
          break;
        case LIBRARY_NAME:
          libraryName = v;
          break;
        case LIBRARY_VERSION:
          libraryVersion = v;
          break;
        case DROPPED_ATTRIBUTES:
          droppedAttributes = v;
          break;
        case DROPPED_EVENTS:
          droppedEvents = v;
          break;
        case DROPPED_LINKS:
          droppedLinks = v;
          break;
        default:
          if ((keys[i] as string).startsWith(LINK_PREFIX)) {
            linkTags ??= new Map();
            linkTags.set(keys[i] as string, i);
          }
      }
    }

    // What those tags become, and so which of them leave the attributes.
    const serviceKey = serviceSource !== undefined && serviceSource !== '' ? serviceSource : SERVICE_NAME;
    // OTel SDK exporters repeat the service name as a tag.
    const dropServiceTag = serviceName !== '' && serviceTag === serviceName;
    // Zipkin has no INTERNAL kind: an absent (or unknown) kind is a local span.
    const kind = TO_MODEL_KIND[z.kind] ?? SpanKind.INTERNAL;
    const dropSpanKind = z.kind === ZipkinKind.UNSPECIFIED && spanKind === 'internal';
    const parsedCode = statusCode === undefined ? undefined : parseStatusCode(statusCode);
    let code: number = parsedCode ?? StatusCode.UNSET;
    // An unknown status code is kept as an attribute rather than silently read as UNSET.
    let message = parsedCode !== undefined ? (statusDescription ?? '') : '';
    if (error !== undefined) {
      // Zipkin marks any span with an `error` tag as failed, whatever its value.
      code = StatusCode.ERROR;
      if (error !== 'true' && message === '') message = error;
    }
    // The older scope keys leave only when they agree with the newer ones.
    const dropLibraryName = libraryName !== undefined && (scopeName === undefined || scopeName === libraryName);
    const dropLibraryVersion =
      libraryVersion !== undefined && (scopeVersion === undefined || scopeVersion === libraryVersion);
    const droppedAttributesCount = parseCount(droppedAttributes);
    const droppedEventsCount = parseCount(droppedEvents);
    const droppedLinksCount = parseCount(droppedLinks);
    let links: readonly SpanLink[] = EMPTY;
    let linkKeys: Set<string> | undefined;
    if (linkTags !== undefined) {
      linkKeys = new Set();
      links = takeLinks(linkTags, values, linkKeys);
    }

    // Pass 2: the attributes, and the tags that belong to the resource.
    const attributes: KeyValue[] = [];
    let moved: KeyValue[] | undefined;
    for (let i = 0; i < n; i++) {
      const key = keys[i] as string;
      switch (key) {
        case TRACE_STATE:
        case SERVICE_NAME_SOURCE:
        case SCOPE_NAME:
        case SCOPE_VERSION:
          continue;
        case STATUS_CODE:
        case STATUS_DESCRIPTION:
          if (parsedCode !== undefined) continue;
          break;
        case ERROR:
          if (error === 'true') continue;
          break;
        case SPAN_KIND:
          if (dropSpanKind) continue;
          break;
        case SERVICE_NAME:
          if (dropServiceTag) continue;
          break;
        case LIBRARY_NAME:
          if (dropLibraryName) continue;
          break;
        case LIBRARY_VERSION:
          if (dropLibraryVersion) continue;
          break;
        case DROPPED_ATTRIBUTES:
          if (droppedAttributesCount >= 0) continue;
          break;
        case DROPPED_EVENTS:
          if (droppedEventsCount >= 0) continue;
          break;
        case DROPPED_LINKS:
          if (droppedLinksCount >= 0) continue;
          break;
        default:
          if (linkKeys?.has(key) === true) continue;
          if (key !== serviceKey && RESOURCE_TAGS.has(key)) {
            moved ??= [];
            moved.push({ key, value: values[i] as string });
            continue;
          }
      }
      attributes.push({ key, value: values[i] as string });
    }
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
    const endTimeUnixNano = z.durationMicros === 0n ? startTimeUnixNano : startTimeUnixNano + z.durationMicros * 1000n;

    let events: readonly SpanEvent[] = EMPTY;
    if (z.annotations.length > 0) {
      const list: SpanEvent[] = [];
      for (const a of z.annotations) list.push(annotationToEvent(a));
      events = list;
    }

    const resource = this.#resource(serviceName, serviceKey, moved);
    const spanId = z.id;
    return {
      traceId: z.traceId.length === 16 ? `0000000000000000${z.traceId}` : z.traceId,
      spanId,
      // The collector drops a parent equal to the span itself (a cycle).
      parentSpanId: z.parentId === spanId ? '' : z.parentId,
      traceState: traceState ?? '',
      flags: 0,
      name: z.name,
      kind,
      startTimeUnixNano,
      endTimeUnixNano,
      attributes: attributes.length === 0 ? EMPTY : attributes,
      droppedAttributesCount: Math.max(0, droppedAttributesCount),
      events,
      droppedEventsCount: Math.max(0, droppedEventsCount),
      links,
      droppedLinksCount: Math.max(0, droppedLinksCount),
      status: code === StatusCode.UNSET && message === '' ? UNSET_STATUS : { code, message },
      resource,
      scope: this.#scope(resource, scopeName ?? libraryName ?? '', scopeVersion ?? libraryVersion ?? ''),
    };
  }

  #resource(serviceName: string, serviceKey: string, moved: KeyValue[] | undefined): Resource {
    // 's' and 'c' prefixes keep the two key shapes from ever colliding.
    let key: string;
    if (moved === undefined && serviceKey === SERVICE_NAME) key = `s${serviceName}`;
    else {
      const sorted = (moved ?? []).map((kv) => JSON.stringify([kv.key, kv.value])).sort();
      key = `c${JSON.stringify([serviceName, serviceName === '' ? '' : serviceKey, sorted])}`;
    }
    let resource = this.#resources.get(key);
    if (resource === undefined) {
      if (serviceName === '' && moved === undefined) resource = EMPTY_RESOURCE;
      else {
        const attributes: KeyValue[] = [];
        if (serviceName !== '') attributes.push({ key: serviceKey, value: serviceName });
        if (moved !== undefined) for (const kv of moved) attributes.push(kv);
        resource = { attributes, droppedAttributesCount: 0, schemaUrl: '' };
      }
      this.#resources.set(key, resource);
    }
    return resource;
  }

  #scope(resource: Resource, name: string, version: string): InstrumentationScope {
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

/** A `otel.dropped_*_count` tag value as a number; -1 when absent or not a uint32 (it then stays an attribute). */
function parseCount(v: string | undefined): number {
  if (v === undefined) return -1;
  return parseUint32(v) ?? -1;
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
function takeLinks(index: Map<string, number>, values: readonly string[], used: Set<string>): SpanLink[] {
  const links: SpanLink[] = [];
  for (let n = 0; ; n++) {
    const key = `${LINK_PREFIX}${n}`;
    const at = index.get(key);
    if (at === undefined) break;
    const link = parseLink(values[at] as string);
    if (link !== undefined) {
      links.push(link);
      used.add(key);
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
      tagKeys: [...tags.keys()],
      tagValues: [...tags.values()],
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
      if (v instanceof Uint8Array) return encodeBase64(v);
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
      if (v instanceof Uint8Array) return JSON.stringify(encodeBase64(v));
      if (isKvList(v)) return keyValuesToJson(v.kvlist);
      return `[${(v as readonly AnyValue[]).map(anyValueToJson).join(',')}]`;
  }
}

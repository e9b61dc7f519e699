/**
 * The service graph, by Tempo's rules: a CLIENT span and the SERVER span whose
 * parent it is (or a PRODUCER and its CONSUMER) form one request along the
 * edge client service -> server service, wherever the two spans arrive from.
 * Halves wait for their partner in a bounded window (time and count). A half
 * that expires unpaired:
 * - a CLIENT span with `peer.service`, `db.system` or `server.address` becomes
 *   a request to a virtual node of that name (`virtual_node`, or `database`
 *   for `db.system`): the database or external API that sends no spans;
 * - anything else is counted as unpaired.
 * A SERVER span without a parent is a request from the virtual `user` node.
 *
 * Per edge and 1-minute bucket (the client span's start; the server's for
 * `user` edges): requests, failed requests (client or server span in ERROR),
 * and client- and server-side latency histograms.
 */

import type { AnyValue, KeyValue, SpanBatch } from '@traceloom/model';
import type { EdgeConnectionType, EdgeMetricPoint } from '../storage/types.ts';
import { Histogram } from './histogram.ts';
import { type BatchTimes, batchTimes } from './span-metrics.ts';

/** The virtual client of root server spans. */
export const USER_NODE = 'user';

const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const KIND_PRODUCER = 4;
const KIND_CONSUMER = 5;
const STATUS_ERROR = 2;
const MINUTE_NS_BIG = 60_000_000_000n;
/** Slots of the recent-edge memo (a power of two). */
const RECENT_EDGES = 64;

/** Attributes that name the peer of an unpaired client span, in order of preference. */
const PEER_ATTRIBUTES: readonly { key: string; type: EdgeConnectionType }[] = [
  { key: 'peer.service', type: 'virtual_node' },
  // `db.system.name` is the stable database convention (what current contrib instrumentations
  // such as pg and ioredis write); `db.system` the older name.
  { key: 'db.system.name', type: 'database' },
  { key: 'db.system', type: 'database' },
  { key: 'server.address', type: 'virtual_node' },
];

const PEER_RANK = new Map(PEER_ATTRIBUTES.map((p, i) => [p.key, i]));

/** One half of a request waiting for its partner. */
interface Half {
  readonly service: string;
  readonly durationNano: number;
  readonly failed: boolean;
  readonly minute: number;
  readonly arrivedMs: number;
  readonly messaging: boolean;
  /**
   * Client side only: the virtual node the span names, for when it expires unpaired. Taken at
   * once rather than keeping the attributes: a half may wait 10 s, and decoded spans should die
   * young (keeping their attributes alive would move them into the old generation).
   */
  readonly peer: string | undefined;
  readonly peerType: EdgeConnectionType;
}

class EdgeAcc {
  requests = 0;
  failed = 0;
  clientSum = 0;
  serverSum = 0;
  readonly clientHist = new Histogram();
  readonly serverHist = new Histogram();
  readonly client: string;
  readonly server: string;
  readonly type: EdgeConnectionType;
  readonly minute: number;
  constructor(client: string, server: string, type: EdgeConnectionType, minute: number) {
    this.client = client;
    this.server = server;
    this.type = type;
    this.minute = minute;
  }
}

/** Options of {@link ServiceGraphBuilder}. */
export interface ServiceGraphOptions {
  /** How long a half waits for its partner. @default 10000 */
  readonly waitMs?: number;
  /** Most halves waiting at once; beyond it the oldest tenth expire early. @default 200000 */
  readonly maxPending?: number;
}

/** Figures of a {@link ServiceGraphBuilder}, since start. */
export interface ServiceGraphStats {
  /** Requests paired from two spans. */
  readonly paired: number;
  /** Requests to virtual nodes (unpaired client spans with a peer attribute) and from `user`. */
  readonly virtual: number;
  /** Halves that expired without a partner or peer attribute. */
  readonly unpaired: number;
  /** Halves expired early because the window was full. */
  readonly evicted: number;
  /** Halves waiting now. */
  readonly pending: number;
}

function text(v: AnyValue | undefined): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Builds service-graph edges from batches of spans. */
export class ServiceGraphBuilder {
  readonly #waitMs: number;
  readonly #maxPending: number;
  /**
   * Trace id + span id of a client/producer span -> the client half. Span ids alone would hash
   * faster, but tracers that derive span ids from trace ids (or number them) make them clash.
   */
  readonly #clients = new Map<string, Half>();
  /** Trace id + parent span id of a server/consumer span -> the server half. */
  readonly #servers = new Map<string, Half>();
  readonly #edges = new Map<string, EdgeAcc>();
  /**
   * The last edges used, direct-mapped by service name lengths and minute: a
   * hit (nearly every pair: a few service pairs a minute) skips building the
   * string key and hashing it. Emptied with {@link #edges}.
   */
  readonly #recent: (EdgeAcc | undefined)[] = new Array(RECENT_EDGES).fill(undefined);
  #paired = 0;
  #virtual = 0;
  #unpaired = 0;
  #evicted = 0;

  constructor(options: ServiceGraphOptions = {}) {
    this.#waitMs = options.waitMs ?? 10_000;
    this.#maxPending = options.maxPending ?? 200_000;
  }

  get stats(): ServiceGraphStats {
    return {
      paired: this.#paired,
      virtual: this.#virtual,
      unpaired: this.#unpaired,
      evicted: this.#evicted,
      pending: this.#clients.size + this.#servers.size,
    };
  }

  /** Pairs what it can of `batch`, keeps the other halves; `nowMs` is the arrival time. */
  add(batch: SpanBatch, nowMs: number, times: BatchTimes = batchTimes(batch)): void {
    const n = batch.length;
    for (let i = 0; i < n; i++) {
      const kind = batch.kind[i] as number;
      if (kind < KIND_SERVER) continue;
      const isClientSide = kind === KIND_CLIENT || kind === KIND_PRODUCER;
      const parent = batch.parentSpanId[i] as string;
      if (!isClientSide && parent === '') {
        if (kind === KIND_SERVER) this.#userRequest(batch, i, times);
        continue;
      }
      const traceId = batch.traceId[i] as string;
      const half: { -readonly [K in keyof Half]: Half[K] } = {
        service: batch.serviceOf(i),
        durationNano: times.durationNano[i] as number,
        failed: batch.statusCode[i] === STATUS_ERROR,
        minute: times.minute[i] as number,
        arrivedMs: nowMs,
        messaging: kind === KIND_PRODUCER || kind === KIND_CONSUMER,
        peer: undefined,
        peerType: '',
      };
      if (kind === KIND_CLIENT) {
        peerOf(batch.spans[i]?.attributes, half);
        // A database call has no server span to wait for (databases are not instrumented), so
        // it becomes its edge at once, as Tempo does, instead of holding memory for the wait.
        if (half.peerType === 'database') {
          this.#expired(half);
          continue;
        }
      }
      if (isClientSide) {
        const key = traceId + (batch.spanId[i] as string);
        const server = this.#servers.get(key);
        if (server !== undefined) {
          this.#servers.delete(key);
          this.#pair(half, server);
        } else this.#clients.set(key, half);
      } else {
        const key = traceId + parent;
        const client = this.#clients.get(key);
        if (client !== undefined) {
          this.#clients.delete(key);
          this.#pair(client, half);
        } else this.#servers.set(key, half);
      }
    }
    this.expire(nowMs);
  }

  /** Expires halves that waited longer than the window (all of them with `Infinity`), and trims to the cap. */
  expire(nowMs: number): void {
    const cutoff = nowMs - this.#waitMs;
    for (const map of [this.#clients, this.#servers]) {
      for (const [key, half] of map) {
        if (half.arrivedMs > cutoff) break;
        map.delete(key);
        this.#expired(half);
      }
    }
    const excess = this.#clients.size + this.#servers.size - this.#maxPending;
    if (excess > 0) this.#evict(excess + Math.floor(this.#maxPending / 10));
  }

  /**
   * Expires the `count` oldest halves of both maps early. One pass with one iterator per map:
   * a fresh iterator per half would rescan the slots of the halves deleted before it.
   */
  #evict(count: number): void {
    const victims: [Map<string, Half>, string, Half][] = [];
    const ci = this.#clients.entries();
    const si = this.#servers.entries();
    let c = ci.next();
    let s = si.next();
    while (victims.length < count && !(c.done && s.done)) {
      if (!c.done && (s.done || c.value[1].arrivedMs <= s.value[1].arrivedMs)) {
        victims.push([this.#clients, c.value[0], c.value[1]]);
        c = ci.next();
      } else if (!s.done) {
        victims.push([this.#servers, s.value[0], s.value[1]]);
        s = si.next();
      }
    }
    for (const [map, key, half] of victims) {
      map.delete(key);
      this.#evicted++;
      this.#expired(half);
    }
  }

  /** Edge points accumulated since the last drain (1-minute buckets). */
  drain(): EdgeMetricPoint[] {
    const out: EdgeMetricPoint[] = [];
    for (const e of this.#edges.values()) {
      out.push({
        bucketStartUnixNano: BigInt(e.minute) * MINUTE_NS_BIG,
        client: e.client,
        server: e.server,
        connectionType: e.type,
        requests: e.requests,
        failed: e.failed,
        clientDurationSumNano: e.clientSum,
        serverDurationSumNano: e.serverSum,
        clientLatency: e.clientHist.toData(),
        serverLatency: e.serverHist.toData(),
      });
    }
    this.#edges.clear();
    this.#recent.fill(undefined);
    return out;
  }

  #edge(client: string, server: string, type: EdgeConnectionType, minute: number): EdgeAcc {
    const slot =
      (Math.imul(client.length, 31) + Math.imul(server.length, 7) + type.length + minute) & (RECENT_EDGES - 1);
    const recent = this.#recent[slot];
    if (
      recent !== undefined &&
      recent.minute === minute &&
      recent.client === client &&
      recent.server === server &&
      recent.type === type
    ) {
      return recent;
    }
    const key = `${client}\u0000${server}\u0000${type}\u0000${minute}`;
    let e = this.#edges.get(key);
    if (e === undefined) {
      e = new EdgeAcc(client, server, type, minute);
      this.#edges.set(key, e);
    }
    this.#recent[slot] = e;
    return e;
  }

  #pair(client: Half, server: Half): void {
    this.#paired++;
    const e = this.#edge(client.service, server.service, client.messaging ? 'messaging_system' : '', client.minute);
    e.requests++;
    if (client.failed || server.failed) e.failed++;
    e.clientSum += Math.max(0, client.durationNano);
    e.serverSum += Math.max(0, server.durationNano);
    e.clientHist.record(client.durationNano);
    e.serverHist.record(server.durationNano);
  }

  #userRequest(batch: SpanBatch, i: number, times: BatchTimes): void {
    this.#virtual++;
    const d = times.durationNano[i] as number;
    const e = this.#edge(USER_NODE, batch.serviceOf(i), '', times.minute[i] as number);
    e.requests++;
    if (batch.statusCode[i] === STATUS_ERROR) e.failed++;
    e.serverSum += Math.max(0, d);
    e.serverHist.record(d);
  }

  #expired(half: Half): void {
    if (half.peer !== undefined) {
      this.#virtual++;
      const e = this.#edge(half.service, half.peer, half.peerType, half.minute);
      e.requests++;
      if (half.failed) e.failed++;
      e.clientSum += Math.max(0, half.durationNano);
      e.clientHist.record(half.durationNano);
      return;
    }
    this.#unpaired++;
  }
}

/** Sets `half.peer` / `half.peerType` from the best peer attribute present, in one pass. */
function peerOf(
  attributes: readonly KeyValue[] | undefined,
  half: { peer: string | undefined; peerType: EdgeConnectionType },
): void {
  if (attributes === undefined) return;
  let best = PEER_ATTRIBUTES.length;
  for (const kv of attributes) {
    const rank = PEER_RANK.get(kv.key);
    if (rank === undefined || rank >= best) continue;
    const v = text(kv.value);
    if (v === undefined) continue;
    best = rank;
    half.peer = v;
    half.peerType = (PEER_ATTRIBUTES[rank] as (typeof PEER_ATTRIBUTES)[number]).type;
  }
}

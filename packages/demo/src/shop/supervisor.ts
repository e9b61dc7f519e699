/**
 * The demo's supervisor: starts a Traceloom server (a child process with the
 * embedded store) unless told to use another one, prepares the backends,
 * spawns the seven shop services as their own Node processes, relays the
 * embedded queue, applies `/admin/faults`, drives shoppers, and stops it all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DemoError, DemoErrorCode } from '../errors.ts';
import { type BackendOptions, type Backends, prepareBackends } from './backends.ts';
import { applyFaultPatch, DEFAULT_FAULTS, type Faults, SHOP_SERVICE_NAMES, type ShopServiceName } from './faults.ts';
import type { FromService, ServiceEnv, ToService } from './ipc.ts';
import { startTraffic, type Traffic } from './traffic.ts';

/** bin/traceloom.js of the server package. */
const SERVER_BIN = fileURLToPath(new URL('../../../server/bin/traceloom.js', import.meta.url));
const TSX = import.meta.resolve('tsx');
/** Messages of the embedded queue held while the worker is down; the oldest go first beyond it. */
const MAX_PENDING_DELIVERIES = 10_000;

/** Options of {@link startDemo}. */
export interface DemoOptions extends BackendOptions {
  /**
   * Send spans to this OTLP/HTTP base URL (e.g. `http://localhost:4318`) and
   * start no server. @default a server is started
   */
  readonly otlpEndpoint?: string;
  /** Flags for the started server (`traceloom start ...`), e.g. `['--api-port', '0']`. @default [] */
  readonly serverArgs?: readonly string[];
  /** The gateway's port (0: any free one). @default 8080 */
  readonly gatewayPort?: number;
  /** Shopper requests per second at start. @default 5 */
  readonly rate?: number;
  /** Milliseconds between span exports of each service. @default 1000 */
  readonly exportDelayMs?: number;
  /** Where progress lines go. @default nowhere */
  readonly log?: (line: string) => void;
}

/** A running demo. */
export interface RunningDemo {
  /** The gateway, e.g. `http://127.0.0.1:8080`. */
  readonly gatewayUrl: string;
  /** The OTLP/HTTP base URL the services export to. */
  readonly otlpEndpoint: string;
  /** The started server's UI and API base URL (`http://localhost:16686`); undefined with `otlpEndpoint`. */
  readonly uiUrl: string | undefined;
  /** One line per backend: real or embedded, and why. */
  readonly backends: readonly string[];
  /** The switches now. */
  faults(): Faults;
  /** Shopper requests sent so far. */
  readonly traffic: Traffic['stats'];
  /** Stops the traffic, the services (their spans flushed), cleans up the backends, then stops the server. */
  stop(): Promise<void>;
}

/** Whether `port` can be listened on at 127.0.0.1 right now (it is left free again). */
function canListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const bound = (s.address() as { port: number }).port;
      s.close(() => resolve(bound));
    });
  });
}

/** The kernel's range for outgoing connections' local ports (Linux), or the IANA one elsewhere. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/).map(Number);
    if (lo !== undefined && hi !== undefined && lo > 1024 && hi >= lo) return [lo, hi];
  } catch {
    // Not Linux.
  }
  return [49152, 65535];
}

/**
 * A port for a service to listen on. The port is only reserved until the
 * service binds it, so it is taken below the kernel's ephemeral range: there
 * no outgoing connection (the services' own database, broker and export
 * connections among them) can be given it in the meantime. Falls back to a
 * kernel-chosen port when nothing below the range is free.
 */
async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const low = Math.max(10_000, ephemeralLow - 12_000);
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = low + Math.floor(Math.random() * (ephemeralLow - low));
    const port = await canListen(candidate);
    if (port !== undefined) return port;
  }
  const port = await canListen(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`. */
async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

interface StartedServer {
  readonly child: ChildProcess;
  readonly otlp: string;
  readonly ui: string | undefined;
}

async function startServer(args: readonly string[], log: (line: string) => void): Promise<StartedServer> {
  const child = spawn(process.execPath, [SERVER_BIN, 'start', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C in the terminal reaches only the supervisor, which
    // stops the services first (so their last spans arrive) and the server last.
    detached: true,
  });
  let out = '';
  let err = '';
  let ready = false;
  const forward = (chunk: string) => {
    if (!ready) return;
    for (const line of chunk.split('\n')) if (line.trim() !== '') log(`server | ${line}`);
  };
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    forward(c);
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    err += c;
    forward(c);
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const otlp = /OTLP\/HTTP\s+(http:\/\/\S+?)\/v1\/traces/.exec(out)?.[1];
    const api = /Query API:\s+(http:\/\/[^/\s]+)/.exec(out)?.[1];
    if (otlp !== undefined && /Ctrl-C stops/.test(out)) {
      ready = true;
      return { child, otlp, ui: api === undefined ? undefined : `${api}/` };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) child.kill('SIGKILL');
      throw new DemoError(
        DemoErrorCode.STARTUP,
        `the Traceloom server did not start${otlp === undefined && /Ctrl-C/.test(out) ? ' with OTLP/HTTP on' : ''}: ${(err || out).trim()}`,
        'check the server flags (traceloom --help); a server already running on the data folder or the ports is the usual cause',
        500,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface ServiceProcess {
  child: ChildProcess;
  readonly port: number;
  ready: Promise<void>;
}

/**
 * Starts the demo and resolves once every service answers.
 *
 * @example
 * const demo = await startDemo({ log: console.log });
 * // ... later
 * await demo.stop();
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const log = options.log ?? (() => undefined);
  const backends: Backends = await prepareBackends(options);
  let server: StartedServer | undefined;
  let otlp = options.otlpEndpoint;
  try {
    if (otlp === undefined) {
      server = await startServer(options.serverArgs ?? [], log);
      otlp = server.otlp;
    }
  } catch (e) {
    await backends.cleanup();
    throw e;
  }
  const otlpEndpoint = otlp.replace(/\/+$/, '');

  let faults: Faults = { ...DEFAULT_FAULTS, rate: options.rate ?? DEFAULT_FAULTS.rate };
  const ports = new Map<ShopServiceName, number>();
  for (const name of SHOP_SERVICE_NAMES) {
    ports.set(name, name === 'frontend' ? (options.gatewayPort ?? 8080) : await freePort());
  }
  if (ports.get('frontend') === 0) ports.set('frontend', await freePort());
  const urls = Object.fromEntries([...ports].map(([n, p]) => [n, `http://127.0.0.1:${p}`]));
  const services = new Map<ShopServiceName, ServiceProcess>();
  const pendingDeliveries: ToService[] = [];
  let nextId = 1;
  const acks = new Map<number, () => void>();
  let stopping = false;
  /** Services being redeployed: their exit is expected. */
  const restarting = new Set<ShopServiceName>();

  const sendTo = (name: ShopServiceName, m: ToService): boolean => {
    const child = services.get(name)?.child;
    if (child === undefined || !child.connected) return false;
    child.send(m);
    return true;
  };

  const spawnService = (name: ShopServiceName): ServiceProcess => {
    const env: ServiceEnv = {
      SHOP_SERVICE: name,
      SHOP_VERSION: faults.versions[name],
      SHOP_PORT: String(ports.get(name)),
      SHOP_URLS: JSON.stringify(urls),
      SHOP_FAULTS: JSON.stringify(faults),
      SHOP_PG: backends.pg,
      SHOP_REDIS: backends.redis,
      SHOP_REDIS_PREFIX: backends.redisPrefix,
      SHOP_AMQP: backends.amqp,
      SHOP_QUEUE_PREFIX: backends.queuePrefix,
    };
    const child = spawn(
      process.execPath,
      ['--import', TSX, fileURLToPath(new URL(`services/${name}.ts`, import.meta.url))],
      {
        env: {
          ...process.env,
          ...env,
          OTEL_SERVICE_NAME: name,
          OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
          OTEL_BSP_SCHEDULE_DELAY: String(options.exportDelayMs ?? 1000),
        },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        detached: true,
      },
    );
    let errText = '';
    let wasReady = false;
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      errText += c;
      if (errText.length > 20_000) errText = errText.slice(-10_000);
      for (const line of c.split('\n')) if (line.trim() !== '') log(`${name} | ${line}`);
    });
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      for (const line of c.split('\n')) if (line.trim() !== '') log(`${name} | ${line}`);
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new DemoError(DemoErrorCode.STARTUP, `${name} did not start in 60 s: ${errText}`, 'see its output', 500),
          ),
        60_000,
      );
      child.on('message', (m: FromService) => {
        if (m.t === 'ready') {
          wasReady = true;
          clearTimeout(timer);
          resolve();
          if (name === 'shipping-worker') for (const d of pendingDeliveries.splice(0)) sendTo(name, d);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        // A crash (not a stop or a deploy) of a service that was running: start it again.
        if (!stopping && !restarting.has(name) && wasReady && services.get(name)?.child === child) {
          log(`${name} exited (${signal ?? code}); starting it again`);
          setTimeout(() => {
            if (!stopping && services.get(name)?.child === child) spawnService(name);
          }, 1000);
        }
        reject(
          new DemoError(
            DemoErrorCode.STARTUP,
            `${name} exited (${signal ?? code}) before it was ready: ${errText.trim()}`,
            'see its output above',
            500,
          ),
        );
      });
    });
    ready.catch(() => undefined);
    child.on('message', (m: FromService) => onMessage(name, m));
    const proc: ServiceProcess = { child, port: ports.get(name) as number, ready };
    services.set(name, proc);
    return proc;
  };

  const broadcastFaults = async () => {
    const waits: Promise<void>[] = [];
    for (const name of SHOP_SERVICE_NAMES) {
      const id = nextId++;
      const acked = new Promise<void>((resolve) => {
        acks.set(id, resolve);
        setTimeout(resolve, 2000);
      });
      if (sendTo(name, { t: 'faults', id, faults })) waits.push(acked);
      else acks.delete(id);
    }
    await Promise.all(waits);
  };

  const restart = async (name: ShopServiceName) => {
    restarting.add(name);
    try {
      const old = services.get(name);
      if (old !== undefined) await terminate(old.child, 5000);
      if (stopping) return;
      log(`deploying ${name} ${faults.versions[name]}`);
      await spawnService(name).ready.catch((e: unknown) => log(String(e)));
    } finally {
      restarting.delete(name);
    }
  };

  const onControl = async (method: string, body: unknown): Promise<{ status: number; body: unknown }> => {
    if (method === 'GET') return { status: 200, body: faults };
    if (method !== 'POST' && method !== 'DELETE') {
      return {
        status: 405,
        body: {
          error: {
            code: DemoErrorCode.METHOD_NOT_ALLOWED,
            message: `${method} is not allowed on /admin/faults`,
            hint: 'GET reads the switches, POST changes some, DELETE resets them',
          },
        },
      };
    }
    let next: Faults;
    try {
      next = method === 'DELETE' ? DEFAULT_FAULTS : applyFaultPatch(faults, body);
    } catch (e) {
      if (!(e instanceof DemoError)) throw e;
      return { status: e.status, body: { error: { code: e.code, message: e.message, hint: e.hint } } };
    }
    const redeploy = SHOP_SERVICE_NAMES.filter((n) => next.versions[n] !== faults.versions[n]);
    faults = next;
    await broadcastFaults();
    // After the answer is out: the gateway itself may be among them.
    if (redeploy.length > 0) {
      setTimeout(() => {
        void (async () => {
          for (const n of redeploy) await restart(n);
        })();
      }, 50);
    }
    log(`faults: ${JSON.stringify(faults)}`);
    return { status: 200, body: { ...faults, deploying: redeploy } };
  };

  const onMessage = (from: ShopServiceName, m: FromService) => {
    if (m.t === 'ack') {
      acks.get(m.id)?.();
      acks.delete(m.id);
    } else if (m.t === 'control') {
      void onControl(m.method, m.body).then((r) => sendTo(from, { t: 'control-result', id: m.id, ...r }));
    } else if (m.t === 'publish') {
      const d: ToService = { t: 'deliver', queue: m.queue, body: m.body, headers: m.headers };
      if (!sendTo('shipping-worker', d)) {
        // Held while the worker restarts; bounded, as every queue here is.
        if (pendingDeliveries.length >= MAX_PENDING_DELIVERIES) pendingDeliveries.shift();
        pendingDeliveries.push(d);
      }
    }
  };

  for (const name of SHOP_SERVICE_NAMES) spawnService(name);
  try {
    await Promise.all([...services.values()].map((s) => s.ready));
  } catch (e) {
    stopping = true;
    await Promise.all([...services.values()].map((s) => terminate(s.child, 3000)));
    await backends.cleanup();
    if (server !== undefined) await terminate(server.child, 15_000);
    throw e;
  }
  const gatewayUrl = urls.frontend as string;
  const traffic = startTraffic(gatewayUrl, () => faults.rate);
  let stopped: Promise<void> | undefined;
  return {
    gatewayUrl,
    otlpEndpoint,
    uiUrl: server?.ui,
    backends: backends.summary,
    faults: () => faults,
    traffic: traffic.stats,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        traffic.stop();
        await Promise.all([...services.values()].map((s) => terminate(s.child, 6000)));
        await backends.cleanup();
        if (server !== undefined) await terminate(server.child, 20_000);
      })();
      return stopped;
    },
  };
}

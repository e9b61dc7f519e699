/**
 * `traceloom demo`: starts a Traceloom server and the shop, prints where to
 * look, and stops everything on Ctrl-C. Flags it does not know go to the
 * server (`traceloom demo --api-port 17000`).
 */
import { parseArgs } from 'node:util';
import { DemoError, DemoErrorCode } from './errors.ts';
import { startDemo } from './shop/supervisor.ts';

const DEMO_FLAGS = {
  rate: { env: 'TRACELOOM_DEMO_RATE', arg: '<n>', help: 'shopper requests per second at start', dflt: '5' },
  'gateway-port': { env: 'TRACELOOM_DEMO_GATEWAY_PORT', arg: '<port>', help: "the shop gateway's port", dflt: '8080' },
  postgres: {
    env: 'TRACELOOM_DEMO_POSTGRES',
    arg: '<url|off>',
    help: "PostgreSQL for catalog, inventory and orders; 'off' uses embedded tables",
    dflt: 'postgres://postgres@127.0.0.1:5432/postgres (PG* variables)',
  },
  redis: {
    env: 'TRACELOOM_DEMO_REDIS',
    arg: '<url|off>',
    help: "Redis for carts; 'off' uses an in-process map",
    dflt: 'redis://127.0.0.1:6379',
  },
  amqp: {
    env: 'TRACELOOM_DEMO_AMQP',
    arg: '<url|off>',
    help: "RabbitMQ for orders to the shipping worker; 'off' uses an in-process queue",
    dflt: 'amqp://guest:guest@127.0.0.1:5672',
  },
  'run-id': {
    env: 'TRACELOOM_DEMO_RUN_ID',
    arg: '<id>',
    help: "names this run's PostgreSQL schema, Redis key prefix and queues (a-z, 0-9, _)",
    dflt: 'time and pid',
  },
  'otlp-endpoint': {
    env: 'TRACELOOM_DEMO_OTLP_ENDPOINT',
    arg: '<url>',
    help: 'send spans to this running server (OTLP/HTTP base URL) instead of starting one',
    dflt: 'none: a server is started',
  },
} as const;
type DemoFlag = keyof typeof DEMO_FLAGS;

/** The `traceloom demo --help` text. */
export function demoHelpText(): string {
  return [
    'Usage: traceloom demo [options] [server options]',
    '',
    'Starts a Traceloom server and a demo shop of seven Node.js services (frontend, catalog, cart,',
    'checkout, payment, inventory, shipping-worker) traced with @traceloom/sdk, and shoppers using it.',
    'Other options are passed to the server (see traceloom --help), e.g. --data-dir, --api-port.',
    '',
    'Options:',
    ...(Object.keys(DEMO_FLAGS) as DemoFlag[]).map((k) => {
      const f = DEMO_FLAGS[k];
      return `  --${k} ${f.arg}\n      ${f.help}\n      default: ${f.dflt}   env: ${f.env}`;
    }),
    '  -h, --help',
    '',
    'Faults are switched at run time on the gateway, e.g.:',
    `  curl -X POST localhost:8080/admin/faults -d '{"paymentErrorRate":0.5,"inventoryLatencyMs":800}'`,
    '',
  ].join('\n');
}

function bad(message: string): DemoError {
  return new DemoError(DemoErrorCode.BAD_CONFIG, message, "run 'traceloom demo --help'");
}

/** Parsed `traceloom demo` options. */
export interface DemoCliConfig {
  readonly help: boolean;
  readonly rate: number;
  readonly gatewayPort: number;
  readonly postgres: string | false | undefined;
  readonly redis: string | false | undefined;
  readonly amqp: string | false | undefined;
  readonly otlpEndpoint: string | undefined;
  readonly runId: string | undefined;
  readonly serverArgs: readonly string[];
}

/** Parses `traceloom demo` arguments (without `demo`); unknown flags are kept for the server. */
export function parseDemoCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DemoCliConfig {
  const own = new Set<string>(Object.keys(DEMO_FLAGS));
  const mine: string[] = [];
  const serverArgs: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    const name = a.startsWith('--') ? a.slice(2).split('=')[0] : undefined;
    const target = name !== undefined && own.has(name) ? mine : serverArgs;
    target.push(a);
    if (a.startsWith('--') && !a.includes('=') && i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) {
      target.push(argv[++i] as string);
    }
  }
  const { values } = parseArgs({
    args: mine,
    options: Object.fromEntries([...own].map((k) => [k, { type: 'string' as const }])),
    strict: true,
    allowPositionals: false,
  });
  const get = (k: DemoFlag): string | undefined => {
    const v = values[k];
    if (typeof v === 'string') return v;
    const e = env[DEMO_FLAGS[k].env];
    return e === undefined || e === '' ? undefined : e;
  };
  const rateText = get('rate') ?? '5';
  const rate = Number(rateText);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1000) throw bad(`--rate must be 0 to 1000, not '${rateText}'`);
  const portText = get('gateway-port') ?? '8080';
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw bad(`--gateway-port must be a port number from 0 to 65535, not '${portText}'`);
  }
  const backend = (k: DemoFlag): string | false | undefined => {
    const v = get(k);
    return v === undefined ? undefined : v.trim().toLowerCase() === 'off' ? false : v.trim();
  };
  return {
    help,
    rate,
    gatewayPort: Number(portText),
    postgres: backend('postgres'),
    redis: backend('redis'),
    amqp: backend('amqp'),
    otlpEndpoint: get('otlp-endpoint'),
    runId: get('run-id'),
    serverArgs,
  };
}

/** Runs `traceloom demo` until SIGINT/SIGTERM. */
export async function runDemoCommand(argv: readonly string[]): Promise<void> {
  let config: DemoCliConfig;
  try {
    config = parseDemoCli(argv, process.env);
  } catch (e) {
    process.stderr.write(`traceloom demo: ${(e as Error).message}; run 'traceloom demo --help'\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(demoHelpText());
    return;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  let demo: Awaited<ReturnType<typeof startDemo>>;
  let early: NodeJS.Signals | undefined;
  const onEarly = (s: NodeJS.Signals) => {
    early = s;
  };
  process.on('SIGINT', onEarly);
  process.on('SIGTERM', onEarly);
  log('Starting the Traceloom server and the demo shop...');
  try {
    demo = await startDemo({
      rate: config.rate,
      gatewayPort: config.gatewayPort,
      serverArgs: config.serverArgs,
      log,
      ...(config.postgres === undefined ? {} : { postgres: config.postgres }),
      ...(config.redis === undefined ? {} : { redis: config.redis }),
      ...(config.amqp === undefined ? {} : { amqp: config.amqp }),
      ...(config.otlpEndpoint === undefined ? {} : { otlpEndpoint: config.otlpEndpoint }),
      ...(config.runId === undefined ? {} : { runId: config.runId }),
    });
  } catch (e) {
    const hint = e instanceof DemoError ? ` (${e.code}; ${e.hint})` : '';
    process.stderr.write(`traceloom demo: ${(e as Error).message}${hint}\n`);
    process.exit(1);
  }
  process.off('SIGINT', onEarly);
  process.off('SIGTERM', onEarly);
  const ui = (demo.uiUrl ?? '').replace('//127.0.0.1:', '//localhost:');
  log(
    [
      '',
      'The demo shop is running: frontend, catalog, cart, checkout, payment, inventory, shipping-worker',
      ...demo.backends.map((b) => `  ${b}`),
      '',
      ui === '' ? `  Spans go to      ${demo.otlpEndpoint}` : `  Traceloom UI     ${ui}`,
      `  Shop gateway     ${demo.gatewayUrl}/api/products`,
      `  Control          ${demo.gatewayUrl}/admin/faults`,
      `  Shoppers         ${config.rate} requests/s; 15% of payments fail, 5% of charges and 2% of stock checks take over half a second`,
      '',
      'Inject a fault, e.g.:',
      `  curl -X POST ${demo.gatewayUrl}/admin/faults -d '{"paymentErrorRate":0.5}'`,
      `  curl -X POST ${demo.gatewayUrl}/admin/faults -d '{"inventoryLatencyMs":800,"catalogNPlusOne":true}'`,
      `  curl -X POST ${demo.gatewayUrl}/admin/faults -d '{"brokenContext":true}'`,
      `  curl -X POST ${demo.gatewayUrl}/admin/faults -d '{"versions":{"payment":"1.1.0"}}'   (a deploy)`,
      `  curl -X DELETE ${demo.gatewayUrl}/admin/faults                                     (reset)`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  const stop = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the shop, then the server`);
    demo.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (early !== undefined) stop(early);
}

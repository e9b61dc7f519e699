import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helpText, parseCli, parsePort, parseSize } from './args.ts';

describe('parseCli', () => {
  it('uses the defaults without flags or variables', () => {
    const c = parseCli([], {});
    assert.equal(c.command, 'start');
    assert.deepEqual(c.receivers.otlpHttp, { port: 4318 });
    assert.deepEqual(c.receivers.otlpGrpc, { port: 4317 });
    assert.deepEqual(c.receivers.zipkin, { port: 9411 });
    assert.deepEqual(c.receivers.jaeger, { port: 14268 });
    assert.equal(c.receivers.host, 'localhost');
    assert.equal(c.receivers.maxBodyBytes, 64 * 1024 * 1024);
    assert.deepEqual(c.receivers.corsAllowedOrigins, ['*']);
    assert.equal(c.receivers.requestTimeoutMs, 30_000);
    assert.equal(c.logIntervalMs, 5000);
    assert.equal(c.logLevel, 'info');
  });

  it('reads flags, with a flag winning over its variable', () => {
    const c = parseCli(
      [
        'start',
        '--otlp-http-port',
        '5318',
        '--zipkin-port=off',
        '--host',
        '0.0.0.0',
        '--max-body',
        '16MiB',
        '--cors-allowed-origins',
        'https://a.example, https://*.b.example',
      ],
      { TRACELOOM_OTLP_HTTP_PORT: '6318', TRACELOOM_JAEGER_PORT: 'off', TRACELOOM_OTLP_GRPC_PORT: '5317' },
    );
    assert.deepEqual(c.receivers.otlpHttp, { port: 5318 });
    assert.deepEqual(c.receivers.otlpGrpc, { port: 5317 });
    assert.equal(c.receivers.zipkin, false);
    assert.equal(c.receivers.jaeger, false);
    assert.equal(c.receivers.host, '0.0.0.0');
    assert.equal(c.receivers.maxBodyBytes, 16 * 1024 * 1024);
    assert.deepEqual(c.receivers.corsAllowedOrigins, ['https://a.example', 'https://*.b.example']);
  });

  it('reads every TRACELOOM_* variable', () => {
    const c = parseCli([], {
      TRACELOOM_HOST: '::1',
      TRACELOOM_MAX_BODY: '512k',
      TRACELOOM_CORS_ALLOWED_ORIGINS: 'off',
      TRACELOOM_CORS_ALLOWED_HEADERS: 'x-api-key',
      TRACELOOM_REQUEST_TIMEOUT: '2.5',
      TRACELOOM_LOG_INTERVAL: '0',
      TRACELOOM_LOG_LEVEL: 'WARN',
      TRACELOOM_ZIPKIN_PORT: '0',
    });
    assert.equal(c.receivers.host, '::1');
    assert.equal(c.receivers.maxBodyBytes, 512 * 1024);
    assert.deepEqual(c.receivers.corsAllowedOrigins, []);
    assert.deepEqual(c.receivers.corsAllowedHeaders, ['x-api-key']);
    assert.equal(c.receivers.requestTimeoutMs, 2500);
    assert.equal(c.logIntervalMs, 0);
    assert.equal(c.logLevel, 'warn');
    assert.deepEqual(c.receivers.zipkin, { port: 0 });
  });

  it('recognises help', () => {
    assert.equal(parseCli(['--help'], {}).command, 'help');
    assert.equal(parseCli(['-h'], {}).command, 'help');
    assert.equal(parseCli(['help'], {}).command, 'help');
    const text = helpText();
    for (const flag of [
      '--otlp-http-port',
      '--otlp-grpc-port',
      '--zipkin-port',
      '--jaeger-port',
      '--host',
      '--max-body',
    ]) {
      assert.ok(text.includes(flag), flag);
    }
    assert.ok(text.includes('TRACELOOM_OTLP_HTTP_PORT'));
  });

  it('rejects bad values with TL_ERR_BAD_CONFIG naming the flag or variable', () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--zipkin-port', '99999'], {}, /--zipkin-port must be a port number/],
      [[], { TRACELOOM_JAEGER_PORT: 'x' }, /TRACELOOM_JAEGER_PORT must be a port number/],
      [['--max-body', '12 parsecs'], {}, /--max-body must be a size/],
      [['--max-body', '10'], {}, /between 1KiB and 1GiB/],
      [['--log-level', 'loud'], {}, /--log-level must be one of/],
      [['--request-timeout', '0'], {}, /--request-timeout must be a positive number/],
      [['--no-such-flag'], {}, /Unknown option '--no-such-flag'.*traceloom --help/],
      [['stop'], {}, /unknown command 'stop'/],
    ];
    for (const [argv, env, re] of cases) {
      assert.throws(
        () => parseCli(argv, env),
        (e: Error) => {
          assert.match(e.message, /^TL_ERR_BAD_CONFIG: /);
          assert.match(e.message, re);
          return true;
        },
        argv.join(' '),
      );
    }
  });
});

describe('parsePort and parseSize', () => {
  it('parse ports and off', () => {
    assert.equal(parsePort('4318', 'x'), 4318);
    assert.equal(parsePort('OFF', 'x'), false);
    assert.equal(parsePort('0', 'x'), 0);
    assert.throws(() => parsePort('-1', 'x'));
    assert.throws(() => parsePort('43.18', 'x'));
  });

  it('parse binary sizes', () => {
    assert.equal(parseSize('64MiB', 'x'), 64 * 1024 * 1024);
    assert.equal(parseSize('64mb', 'x'), 64 * 1024 * 1024);
    assert.equal(parseSize('1.5k', 'x'), 1536);
    assert.equal(parseSize('1048576', 'x'), 1048576);
    assert.equal(parseSize('1GiB', 'x'), 2 ** 30);
    assert.throws(() => parseSize('2GiB', 'x'), /between 1KiB and 1GiB/);
  });
});

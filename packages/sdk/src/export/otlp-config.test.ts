import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureDiag } from './fixtures/harness.ts';
import { parseOtlpHeaders, resolveOtlpHttpConfig } from './otlp-config.ts';

const url = (env: Record<string, string>, option?: string) => resolveOtlpHttpConfig({ env, url: option }).url.href;

describe('OTLP exporter endpoint resolution', () => {
  it('defaults to http://localhost:4318/v1/traces', () => {
    assert.equal(url({}), 'http://localhost:4318/v1/traces');
  });

  it('appends v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT, keeping its path', () => {
    assert.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), 'http://collector:4318/v1/traces');
    assert.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), 'http://collector:4318/v1/traces');
    assert.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gw.example/otlp/' }), 'https://gw.example/otlp/v1/traces');
    assert.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gw.example/otlp' }), 'https://gw.example/otlp/v1/traces');
  });

  it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, over the base endpoint', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom/path',
    };
    assert.equal(url(env), 'http://traces:9999/custom/path');
  });

  it('lets the url option win over every variable', () => {
    assert.equal(
      url({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/x' }, 'http://opt:1234/v1/traces'),
      'http://opt:1234/v1/traces',
    );
  });

  it('ignores an invalid URL with a diag warning and falls back', () => {
    const logged = captureDiag();
    try {
      assert.equal(
        url({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url', OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }),
        'http://localhost:4318/v1/traces',
      );
      assert.equal(logged.messages.length, 2);
    } finally {
      logged.restore();
    }
  });
});

describe('OTLP exporter headers', () => {
  it('parses k=v pairs, trimming and percent-decoding', () => {
    assert.deepEqual(parseOtlpHeaders(' api-key = abc%20def ,x-tenant=t%3D1,, '), {
      'api-key': 'abc def',
      'x-tenant': 't=1',
    });
  });

  it('skips malformed pairs with a warning each', () => {
    const logged = captureDiag();
    try {
      assert.deepEqual(parseOtlpHeaders('novalue,=v,bad key=1,ok=1,pct=%E0%A4%A'), { ok: '1' });
      assert.equal(logged.messages.length, 4);
    } finally {
      logged.restore();
    }
  });

  it('merges general, trace-specific and option headers, later winning, names lower-cased', () => {
    const cfg = resolveOtlpHttpConfig({
      headers: { Authorization: 'Bearer opt' },
      env: {
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20env,a=1,b=1',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=2',
      },
    });
    assert.deepEqual(cfg.headers, { authorization: 'Bearer opt', a: '1', b: '2' });
  });
});

describe('OTLP exporter compression, timeout and retry settings', () => {
  it('reads compression and timeout, trace-specific first', () => {
    const cfg = resolveOtlpHttpConfig({
      env: {
        OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
        OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '3000',
      },
    });
    assert.equal(cfg.compression, 'gzip');
    assert.equal(cfg.timeoutMillis, 3000);
  });

  it('falls back to the general variables, then to the defaults', () => {
    const general = resolveOtlpHttpConfig({
      env: { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TIMEOUT: '2500' },
    });
    assert.equal(general.compression, 'gzip');
    assert.equal(general.timeoutMillis, 2500);
    const defaults = resolveOtlpHttpConfig({ env: {} });
    assert.equal(defaults.compression, 'none');
    assert.equal(defaults.timeoutMillis, 10_000);
    assert.equal(defaults.maxAttempts, 5);
    assert.equal(defaults.initialBackoffMillis, 1000);
    assert.equal(defaults.maxBackoffMillis, 5000);
  });

  it('options override variables; bad values warn and are ignored', () => {
    const logged = captureDiag();
    try {
      const cfg = resolveOtlpHttpConfig({
        compression: 'none',
        timeoutMillis: -5,
        env: { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' },
      });
      assert.equal(cfg.compression, 'none');
      assert.equal(cfg.timeoutMillis, 10_000);
      assert.equal(logged.messages.length, 2);
    } finally {
      logged.restore();
    }
  });
});

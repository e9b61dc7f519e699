import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { getAttribute, type Resource } from '@traceloom/model';
import { buildResource, parseResourceAttributesEnv, SDK_VERSION } from './resource.ts';

const get = (r: Resource, key: string) => getAttribute(r.attributes, key);

describe('buildResource', () => {
  it('carries the SDK, process, runtime, host and OS attributes', () => {
    const r = buildResource({ env: {} });
    assert.equal(get(r, 'telemetry.sdk.name'), 'traceloom');
    assert.equal(get(r, 'telemetry.sdk.language'), 'nodejs');
    assert.equal(get(r, 'telemetry.sdk.version'), SDK_VERSION);
    assert.equal(get(r, 'process.pid'), BigInt(process.pid));
    assert.equal(get(r, 'process.runtime.name'), 'nodejs');
    assert.equal(get(r, 'process.runtime.version'), process.versions.node);
    assert.equal(get(r, 'host.name'), hostname());
    assert.ok(['amd64', 'arm64', 'x86', 'arm32', 'ppc64', 's390x'].includes(get(r, 'host.arch') as string));
    assert.equal(get(r, 'os.type'), process.platform === 'win32' ? 'windows' : process.platform);
    assert.match(get(r, 'service.name') as string, /^unknown_service:.+/);
    assert.ok(Object.isFrozen(r));
  });

  it('takes service.name from options over OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES', () => {
    const env = { OTEL_SERVICE_NAME: 'from-env', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs,team=core' };
    assert.equal(get(buildResource({ env }), 'service.name'), 'from-env');
    assert.equal(get(buildResource({ env, serviceName: 'from-options' }), 'service.name'), 'from-options');
    assert.equal(
      get(buildResource({ env: { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' } }), 'service.name'),
      'from-attrs',
    );
    const r = buildResource({ env, attributes: { team: 'payments', replicas: 3 } });
    assert.equal(get(r, 'team'), 'payments', 'option attributes win over the variable');
    assert.equal(get(r, 'replicas'), 3n);
  });
});

describe('parseResourceAttributesEnv', () => {
  it('percent-decodes keys and values and trims blanks', () => {
    assert.deepEqual(parseResourceAttributesEnv(' a = 1 ,b=hello%20world%2C%3Dok, c%2Ekey=%E2%9C%93 '), {
      a: '1',
      b: 'hello world,=ok',
      'c.key': '✓',
    });
    assert.deepEqual(parseResourceAttributesEnv(''), {});
    assert.deepEqual(parseResourceAttributesEnv(undefined), {});
  });

  it('keeps an = inside a value and discards the whole variable on a bad member', () => {
    assert.deepEqual(parseResourceAttributesEnv('k=a=b'), { k: 'a=b' });
    assert.deepEqual(parseResourceAttributesEnv('a=1,broken'), {});
    assert.deepEqual(parseResourceAttributesEnv('a=1,=x'), {});
    assert.deepEqual(parseResourceAttributesEnv('a=%E2%9C'), {});
  });
});

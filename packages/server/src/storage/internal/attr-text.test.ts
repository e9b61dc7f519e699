import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributeText } from './attr-text.ts';

describe('attributeText', () => {
  it('renders scalars', () => {
    assert.equal(attributeText('a "b"\n'), 'a "b"\n');
    assert.equal(attributeText(true), 'true');
    assert.equal(attributeText(false), 'false');
    assert.equal(attributeText(9007199254740993n), '9007199254740993');
    assert.equal(attributeText(-42n), '-42');
    assert.equal(attributeText(1.5), '1.5');
    assert.equal(attributeText(2), '2');
    assert.equal(attributeText(-0), '-0');
    assert.equal(attributeText(0), '0');
    assert.equal(attributeText(Number.NaN), 'NaN');
    assert.equal(attributeText(Number.NEGATIVE_INFINITY), '-Infinity');
    assert.equal(attributeText(new Uint8Array([0xfb, 0xff, 0x00])), '+/8A');
    assert.equal(attributeText(null), '');
  });

  it('renders bytes that are a view into a larger buffer', () => {
    const big = new Uint8Array([1, 2, 3, 4, 5]);
    assert.equal(attributeText(big.subarray(1, 3)), Buffer.from([2, 3]).toString('base64'));
  });

  it('renders arrays and kvlists as JSON of text forms, nesting kept', () => {
    assert.equal(attributeText([1n, 'a', true, 1.5, null]), '["1","a","true","1.5",null]');
    assert.equal(attributeText([[1n], []]), '[["1"],[]]');
    assert.equal(
      attributeText({
        kvlist: [
          { key: 'k', value: 'v"' },
          { key: 'k', value: [-0] },
          { key: 'n', value: { kvlist: [] } },
        ],
      }),
      '{"k":"v\\"","k":["-0"],"n":{}}',
    );
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { isTracingSuppressed as coreIsSuppressed, suppressTracing as coreSuppress } from '@opentelemetry/core';
import { isTracingSuppressed, suppressTracing } from './suppress.ts';

test('suppressTracing sets a flag that isTracingSuppressed reads', () => {
  assert.equal(isTracingSuppressed(ROOT_CONTEXT), false);
  const ctx = suppressTracing(ROOT_CONTEXT);
  assert.equal(isTracingSuppressed(ctx), true);
  assert.equal(isTracingSuppressed(ROOT_CONTEXT), false, 'contexts are immutable');
});

test('the flag is the one @opentelemetry/core uses, both ways', () => {
  assert.equal(coreIsSuppressed(suppressTracing(ROOT_CONTEXT)), true);
  assert.equal(isTracingSuppressed(coreSuppress(ROOT_CONTEXT)), true);
});

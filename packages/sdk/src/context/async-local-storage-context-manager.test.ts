import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Context, context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from './async-local-storage-context-manager.ts';

const KEY = createContextKey('test key');
const ctxOf = (v: string): Context => ROOT_CONTEXT.setValue(KEY, v);
const current = (): unknown => context.active().getValue(KEY);

const manager = new AsyncLocalStorageContextManager();

before(() => {
  assert.ok(context.setGlobalContextManager(manager.enable()));
});

after(() => {
  context.disable();
});

describe('AsyncLocalStorageContextManager', () => {
  it('is ROOT_CONTEXT outside any with(), and with() returns the callback value', () => {
    assert.equal(context.active(), ROOT_CONTEXT);
    assert.equal(
      context.with(ctxOf('a'), () => current()),
      'a',
    );
    assert.equal(current(), undefined);
  });

  it('passes thisArg and arguments through with()', () => {
    const self = { n: 2 };
    const r = manager.with(
      ctxOf('x'),
      function (this: { n: number }, a: number, b: number) {
        return this.n * a + b;
      },
      self,
      3,
      4,
    );
    assert.equal(r, 10);
  });

  it('nests and restores', () => {
    context.with(ctxOf('outer'), () => {
      context.with(ctxOf('inner'), () => assert.equal(current(), 'inner'));
      assert.equal(current(), 'outer');
    });
  });

  it('survives awaits, promise callbacks, microtasks and nextTick', async () => {
    await context.with(ctxOf('p'), async () => {
      await sleep(1);
      assert.equal(current(), 'p');
      await Promise.resolve().then(() => assert.equal(current(), 'p'));
      await new Promise<void>((resolve) =>
        queueMicrotask(() => {
          assert.equal(current(), 'p');
          resolve();
        }),
      );
      await new Promise<void>((resolve) =>
        process.nextTick(() => {
          assert.equal(current(), 'p');
          resolve();
        }),
      );
    });
    assert.equal(current(), undefined);
  });

  it('keeps concurrent async flows apart', async () => {
    const run = (name: string, delay: number) =>
      context.with(ctxOf(name), async () => {
        await sleep(delay);
        const seen = current();
        await sleep(1);
        return [seen, current()];
      });
    const results = await Promise.all([run('a', 5), run('b', 1), run('c', 3)]);
    assert.deepEqual(results, [
      ['a', 'a'],
      ['b', 'b'],
      ['c', 'c'],
    ]);
  });

  it('survives setTimeout, setImmediate and setInterval', async () => {
    const seen = await context.with(ctxOf('t'), () => {
      const values: Promise<unknown>[] = [
        new Promise((resolve) => setTimeout(() => resolve(current()), 1)),
        new Promise((resolve) => setImmediate(() => resolve(current()))),
        new Promise((resolve) => {
          let n = 0;
          const h = setInterval(() => {
            if (++n === 2) {
              clearInterval(h);
              resolve(current());
            }
          }, 1);
        }),
      ];
      return Promise.all(values);
    });
    assert.deepEqual(seen, ['t', 't', 't']);
  });

  it('event listeners run in the emitter caller’s context unless the emitter is bound', () => {
    const plain = new EventEmitter();
    const bound = manager.bind(ctxOf('bound'), new EventEmitter());
    const seen: unknown[] = [];
    context.with(ctxOf('adder'), () => {
      plain.on('e', () => seen.push(['plain', current()]));
      bound.on('e', () => seen.push(['on', current()]));
      bound.once('e', () => seen.push(['once', current()]));
      bound.prependListener('e', () => seen.push(['prepend', current()]));
    });
    context.with(ctxOf('emitter'), () => {
      plain.emit('e');
      bound.emit('e');
      bound.emit('e');
    });
    assert.deepEqual(seen, [
      ['plain', 'emitter'],
      ['prepend', 'bound'],
      ['on', 'bound'],
      ['once', 'bound'],
      ['prepend', 'bound'],
      ['on', 'bound'],
    ]);
  });

  it('a bound emitter removes listeners by the original function', () => {
    const emitter = manager.bind(ctxOf('b'), new EventEmitter());
    let calls = 0;
    const listener = () => calls++;
    emitter.on('e', listener);
    emitter.on('e', listener);
    assert.equal(emitter.listenerCount('e'), 2);
    emitter.removeListener('e', listener);
    assert.equal(emitter.listenerCount('e'), 1);
    emitter.off('e', listener);
    assert.equal(emitter.listenerCount('e'), 0);
    const once = () => calls++;
    emitter.once('x', once);
    emitter.removeListener('x', once);
    emitter.emit('x');
    emitter.on('y', listener);
    emitter.removeAllListeners('y');
    emitter.emit('e');
    emitter.emit('y');
    assert.equal(calls, 0);
    assert.equal(manager.bind(ctxOf('again'), emitter), emitter, 'binding twice keeps the first binding');
  });

  it('binds functions, keeping their length and this', () => {
    const fn = manager.bind(ctxOf('f'), function (this: unknown, a: number, _b: number) {
      return [current(), this, a];
    });
    assert.equal(fn.length, 2);
    const self = {};
    assert.deepEqual(
      context.with(ctxOf('other'), () => fn.call(self, 1, 2)),
      ['f', self, 1],
    );
    const notBindable = { a: 1 };
    assert.equal(manager.bind(ctxOf('f'), notBindable), notBindable);
  });

  it('keeps the context through streams: async iteration, pipeline, and stream events', async () => {
    await context.with(ctxOf('stream'), async () => {
      const chunks: unknown[] = [];
      for await (const chunk of Readable.from(['a', 'b'])) chunks.push([chunk, current()]);
      assert.deepEqual(chunks, [
        ['a', 'stream'],
        ['b', 'stream'],
      ]);
      const seenInTransform: unknown[] = [];
      const upper = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          seenInTransform.push(current());
          cb(null, chunk.toString().toUpperCase());
        },
      });
      const sink = new PassThrough();
      const out: string[] = [];
      sink.on('data', (c: Buffer) => out.push(c.toString()));
      await pipeline(Readable.from(['x', 'y']), upper, sink);
      assert.deepEqual(out, ['X', 'Y']);
      assert.ok(seenInTransform.length > 0 && seenInTransform.every((v) => v === 'stream'));
      assert.equal(current(), 'stream');
    });
    // A stream written from elsewhere: its data listeners see the writer's context unless bound.
    const stream = new PassThrough();
    const bound = manager.bind(ctxOf('reader'), new PassThrough());
    const seen: unknown[] = [];
    stream.on('data', () => seen.push(current()));
    bound.on('data', () => seen.push(current()));
    context.with(ctxOf('writer'), () => {
      stream.write('1');
      bound.write('1');
    });
    await sleep(5);
    assert.deepEqual(seen, ['writer', 'reader']);
  });

  it('disable() forgets the active context', () => {
    const m = new AsyncLocalStorageContextManager();
    m.with(ctxOf('d'), () => {
      assert.equal(m.active().getValue(KEY), 'd');
      m.disable();
      assert.equal(m.active(), ROOT_CONTEXT);
    });
    assert.equal(
      m.with(ctxOf('e'), () => m.active().getValue(KEY)),
      'e',
      'still usable after disable()',
    );
  });
});

describe('enterWith', () => {
  it('makes a context active for the rest of the synchronous run and what it schedules', async () => {
    const manager = new AsyncLocalStorageContextManager();
    const key = createContextKey('enter-with');
    const ctx = ROOT_CONTEXT.setValue(key, 'entered');
    const seen = await new Promise<unknown[]>((resolve) => {
      // A fresh async scope, so the entered context does not leak into the test runner.
      setImmediate(() => {
        manager.enterWith(ctx);
        const now = manager.active().getValue(key);
        setTimeout(() => resolve([now, manager.active().getValue(key)]), 1);
      });
    });
    assert.deepEqual(seen, ['entered', 'entered']);
    assert.equal(manager.active().getValue(key), undefined, 'the caller of the scope is untouched');
  });
});

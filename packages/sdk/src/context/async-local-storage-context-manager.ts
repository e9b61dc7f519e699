import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { type Context, type ContextManager, ROOT_CONTEXT } from '@opentelemetry/api';

type Listener = (...args: unknown[]) => unknown;

/** The EventEmitter methods that add a listener; their listener is wrapped to run in the bound context. */
const ADD_METHODS = ['addListener', 'on', 'once', 'prependListener', 'prependOnceListener'] as const;
/** The methods that remove one; they must find the wrapper of the listener they are given. */
const REMOVE_METHODS = ['removeListener', 'off'] as const;

/** Per emitter: event name -> original listener -> its wrappers (one per add, as an emitter allows duplicates). */
const WRAPPERS = Symbol('traceloom.contextWrappers');
type WrapperMap = Map<string | symbol, WeakMap<Listener, Listener[]>>;
type PatchedEmitter = EventEmitter & { [WRAPPERS]?: WrapperMap };

/**
 * The OpenTelemetry API `ContextManager` on Node's `AsyncLocalStorage`: the
 * active context follows the async call graph, so it survives `await`,
 * promise callbacks, timers, `process.nextTick`, `queueMicrotask` and I/O
 * callbacks without any patching. Event listeners run in the context of
 * whoever emits; `bind(context, emitter)` makes an emitter's listeners run in
 * a fixed context instead.
 */
export class AsyncLocalStorageContextManager implements ContextManager {
  #storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const cb = thisArg === undefined || thisArg === null ? fn : fn.bind(thisArg);
    return this.#storage.run(context, cb, ...args) as ReturnType<F>;
  }

  /**
   * Binds a function (it will always run in `context`) or an EventEmitter (its
   * listeners will). Anything else is returned as it is.
   */
  bind<T>(context: Context, target: T): T {
    if (target instanceof EventEmitter) return this.#bindEmitter(context, target) as T;
    if (typeof target === 'function') return this.#bindFunction(context, target as unknown as Listener) as T;
    return target;
  }

  /**
   * Makes `context` active for the rest of the current synchronous execution
   * and everything it schedules (AsyncLocalStorage `enterWith`). Not part of
   * the API's ContextManager: the HTTP instrumentation uses it to run an
   * incoming request's handler inside its server span, because Node publishes
   * `http.server.request.start` just before it emits 'request'.
   */
  enterWith(context: Context): void {
    this.#storage.enterWith(context);
  }

  enable(): this {
    return this;
  }

  /** Forgets the active context everywhere; `with` keeps working, with a fresh store. */
  disable(): this {
    this.#storage.disable();
    this.#storage = new AsyncLocalStorage<Context>();
    return this;
  }

  #bindFunction(context: Context, target: Listener): Listener {
    const manager = this;
    const bound = function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => target.apply(this, args));
    };
    Object.defineProperty(bound, 'length', {
      enumerable: false,
      configurable: true,
      writable: false,
      value: target.length,
    });
    return bound;
  }

  #bindEmitter(context: Context, emitter: PatchedEmitter): EventEmitter {
    if (emitter[WRAPPERS] !== undefined) return emitter;
    const map: WrapperMap = new Map();
    Object.defineProperty(emitter, WRAPPERS, { value: map, enumerable: false, configurable: true });
    // `once` adds its own wrapper through `on`: that inner call must not wrap a second time.
    let adding = false;
    for (const method of ADD_METHODS) {
      const original = emitter[method];
      if (typeof original !== 'function') continue;
      const manager = this;
      emitter[method] = function (this: EventEmitter, event: string | symbol, listener: Listener) {
        if (adding || typeof listener !== 'function') return original.call(this, event, listener);
        const wrapped = manager.#bindFunction(context, listener);
        let perEvent = map.get(event);
        if (perEvent === undefined) {
          perEvent = new WeakMap();
          map.set(event, perEvent);
        }
        const list = perEvent.get(listener);
        if (list === undefined) perEvent.set(listener, [wrapped]);
        else list.push(wrapped);
        adding = true;
        try {
          return original.call(this, event, wrapped);
        } finally {
          adding = false;
        }
      };
    }
    for (const method of REMOVE_METHODS) {
      const original = emitter[method];
      if (typeof original !== 'function') continue;
      emitter[method] = function (this: EventEmitter, event: string | symbol, listener: Listener) {
        const list = map.get(event)?.get(listener);
        const wrapped = list?.pop();
        if (list !== undefined && list.length === 0) map.get(event)?.delete(listener);
        return original.call(this, event, wrapped ?? listener);
      };
    }
    const removeAll = emitter.removeAllListeners;
    emitter.removeAllListeners = function (this: EventEmitter, event?: string | symbol) {
      if (event === undefined) map.clear();
      else map.delete(event);
      return event === undefined ? removeAll.call(this) : removeAll.call(this, event);
    };
    return emitter;
  }
}

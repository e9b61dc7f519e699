import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from '@opentelemetry/api';
import { context, diag } from '@opentelemetry/api';

type Enter = (ctx: Context) => void;

/**
 * What a context manager may offer so that an instrumentation can make a
 * context current for the rest of the running callback and everything it
 * schedules (AsyncLocalStorage `enterWith`). The OTel API's ContextManager
 * has only `with`, which restores the previous context when its callback
 * returns: too early for code that runs after a diagnostics_channel message.
 */
interface EnterableContextManager {
  /** Traceloom's own context manager exposes this. */
  enterWith?: (ctx: Context) => void;
  /** The official AsyncLocalStorageContextManager keeps its store here (protected in TS). */
  _asyncLocalStorage?: unknown;
}

let cachedManager: unknown;
let cachedEnter: Enter | undefined;
let warned = false;

function globalContextManager(): unknown {
  // `_getContextManager` is private in the API's typings but is the only
  // way to reach the registered manager; it has been there since API 1.0.
  const api = context as unknown as { _getContextManager?: () => unknown };
  return typeof api._getContextManager === 'function' ? api._getContextManager() : undefined;
}

function resolveEnter(manager: unknown): Enter | undefined {
  if (typeof manager !== 'object' || manager === null) return undefined;
  const m = manager as EnterableContextManager;
  const own = m.enterWith;
  if (typeof own === 'function') return (ctx) => own.call(manager, ctx);
  const als = m._asyncLocalStorage;
  if (als instanceof AsyncLocalStorage) return (ctx) => als.enterWith(ctx);
  return undefined;
}

/**
 * Makes `ctx` the active context from here to the end of the current
 * synchronous execution and in every async operation it starts. Returns
 * false (and warns once) when the registered context manager cannot do
 * that, in which case handlers run without the span being active.
 */
export function enterContext(ctx: Context): boolean {
  const manager = globalContextManager();
  if (manager !== cachedManager) {
    cachedManager = manager;
    cachedEnter = resolveEnter(manager);
  }
  if (cachedEnter === undefined) {
    if (!warned) {
      warned = true;
      diag.warn(
        'traceloom http instrumentation: the registered context manager cannot enter a context ' +
          '(no enterWith / AsyncLocalStorage); incoming request handlers will not see the server span as active',
      );
    }
    return false;
  }
  cachedEnter(ctx);
  return true;
}

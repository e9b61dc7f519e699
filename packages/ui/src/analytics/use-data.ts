/**
 * Loads data for a page: fetches again when `key` changes (a string naming
 * everything `load` depends on), aborting the request before.
 */
import { useEffect, useRef, useState } from 'react';

export type DataState<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'ok'; readonly data: T }
  | { readonly status: 'error'; readonly error: unknown };

export function useData<T>(load: (signal: AbortSignal) => Promise<T>, key: string): DataState<T> {
  const [state, setState] = useState<DataState<T>>({ status: 'loading' });
  const loader = useRef(load);
  loader.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` names what the loader depends on
  useEffect(() => {
    const ctl = new AbortController();
    setState({ status: 'loading' });
    loader.current(ctl.signal).then(
      (data) => {
        if (!ctl.signal.aborted) setState({ status: 'ok', data });
      },
      (error: unknown) => {
        if (!ctl.signal.aborted) setState({ status: 'error', error });
      },
    );
    return () => ctl.abort();
  }, [key]);
  return state;
}

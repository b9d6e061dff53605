import { useCallback, useEffect, useRef, useState } from 'react';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ApiError, request, subscribe } from './api';

export interface QueryState<R> {
  data: R | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** Runs a query when `key` changes (and on reload); loading and error states included. */
export function useQuery<R, V>(doc: TypedDocumentNode<R, V>, variables: V, key: string): QueryState<R> {
  const [data, setData] = useState<R | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const vars = useRef(variables);
  vars.current = variables;
  useEffect(() => {
    let live = true;
    setLoading(true);
    request(doc, vars.current)
      .then((d) => live && (setData(d), setError(null)))
      .catch((e: ApiError) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [doc, key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** Keeps a subscription open while mounted (and `key` is unchanged). */
export function useSubscription<R, V>(
  doc: TypedDocumentNode<R, V>,
  variables: V,
  key: string,
  onData: (d: R) => void,
): ApiError | null {
  const [error, setError] = useState<ApiError | null>(null);
  const handler = useRef(onData);
  handler.current = onData;
  const vars = useRef(variables);
  vars.current = variables;
  useEffect(() => {
    setError(null);
    return subscribe(doc, vars.current, (d) => handler.current(d), setError);
  }, [doc, key]);
  return error;
}

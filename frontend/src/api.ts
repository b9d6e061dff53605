// The one way the UI talks to the server: GraphQL over HTTP, subscriptions over graphql-ws.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';

const TOKEN_KEY = 'autonomos.token';

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  wsClient?.dispose();
  wsClient = null;
}

/** A GraphQL error with its stable `extensions.code`. */
export class ApiError extends Error {
  constructor(
    message: string,
    public code: string,
    public problems: { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export async function request<R, V>(doc: TypedDocumentNode<R, V>, variables?: V): Promise<R> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: print(doc), variables: variables ?? {} }),
    });
  } catch {
    throw new ApiError('The server cannot be reached.', 'NETWORK');
  }
  const body = await res.json().catch(() => null);
  if (!body) throw new ApiError(`The server answered ${res.status}.`, 'BAD_RESPONSE');
  if (body.errors?.length) {
    const e = body.errors[0];
    if (e.extensions?.code === 'UNAUTHENTICATED') setToken(null);
    throw new ApiError(e.message, e.extensions?.code ?? 'ERROR', e.extensions?.problems ?? []);
  }
  return body.data as R;
}

let wsClient: Client | null = null;

function ws(): Client {
  if (!wsClient) {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    wsClient = createClient({
      url: `${proto}://${location.host}/graphql`,
      connectionParams: () => ({ authorization: `Bearer ${getToken() ?? ''}` }),
      retryAttempts: 5,
    });
  }
  return wsClient;
}

/** Subscribes; returns the function that stops it. */
export function subscribe<R, V>(
  doc: TypedDocumentNode<R, V>,
  variables: V,
  onData: (data: R) => void,
  onError: (e: ApiError) => void,
): () => void {
  return ws().subscribe<R>(
    { query: print(doc), variables: variables as Record<string, unknown> },
    {
      next: (r) => {
        if (r.errors?.length) {
          const e = r.errors[0] as { message: string; extensions?: { code?: string } };
          onError(new ApiError(e.message, e.extensions?.code ?? 'ERROR'));
        } else if (r.data) onData(r.data as R);
      },
      error: (e) =>
        onError(new ApiError(e instanceof Error ? e.message : 'live connection closed', 'LIVE')),
      complete: () => {},
    },
  );
}

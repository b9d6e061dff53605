// The standard `graphql-ws` client against the server's graphql-transport-ws: how it sees the
// protocol's close codes, ping/pong and `complete`. One JSON line per scenario.
// usage: node close-codes.mjs <ws-url> <token>
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token] = process.argv.slice(2);
const http = url.replace('ws://', 'http://');
const FOLLOW = 'subscription { flowEvents { id } }';
const report = (line) => console.log(JSON.stringify(line));

function client(options) {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, ...options });
}

// Resolves with the close code the client saw (or 'timeout').
function closeCode(options, subscriptions = 1) {
  return new Promise((resolve) => {
    const c = client({ ...options, on: { closed: (e) => resolve(e.code) } });
    for (let i = 0; i < subscriptions; i += 1) {
      c.subscribe({ query: FOLLOW }, { next: () => {}, error: () => {}, complete: () => {} });
    }
    setTimeout(() => resolve('timeout'), 8000);
  });
}

const auth = { authorization: `Bearer ${token}` };

report({ scenario: 'forged token', closed: await closeCode({ connectionParams: { authorization: 'Bearer forged.token.x' } }) });
report({ scenario: 'no connection_init', closed: await closeCode({ connectionParams: () => new Promise(() => {}) }) });
report({ scenario: 'duplicate id', closed: await closeCode({ connectionParams: auth, generateID: () => 'same' }, 2) });

report({
  scenario: 'ping',
  pong: await new Promise((resolve) => {
    const c = client({ connectionParams: auth, keepAlive: 100, on: { pong: () => { c.dispose(); resolve(true); } } });
    c.subscribe({ query: FOLLOW }, { next: () => {}, error: () => resolve(false), complete: () => {} });
    setTimeout(() => resolve(false), 8000);
  }),
});

report(await new Promise((resolve) => {
  const result = { scenario: 'complete then the same id again', completed: false, again: false };
  const c = client({
    connectionParams: auth,
    generateID: () => 'x',
    lazy: false, // the socket stays open between the two subscriptions
    on: { closed: (e) => { result.closed = e.code; resolve(result); } },
  });
  const first = c.subscribe({ query: FOLLOW }, { next: () => {}, error: () => {}, complete: () => { result.completed = true; } });
  setTimeout(async () => {
    first(); // sends `complete` for id x
    c.subscribe({ query: FOLLOW }, {
      next: () => { result.again = true; c.dispose(); resolve(result); },
      error: (e) => { result.error = String(e?.message ?? e?.code ?? e); resolve(result); },
      complete: () => {},
    });
    await new Promise((r) => setTimeout(r, 300));
    await fetch(`${http}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'mutation { startFlowDemo(rate: 20, seconds: 1) { events } }' }),
    });
  }, 500);
  setTimeout(() => resolve(result), 8000);
}));
process.exit(0);

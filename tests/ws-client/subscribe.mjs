// Subscribes with the standard `graphql-ws` client and prints each result as a JSON line.
// usage: node subscribe.mjs <ws-url> <token> <count> <query> [variables-json]
// Exits 0 after <count> results, 2 on a protocol/auth error (printed as {"closed"|"error": ...}).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, count, query, variables] = process.argv.slice(2);
const wanted = Number(count);
let got = 0;

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  lazy: true,
  on: {
    connected: () => console.log(JSON.stringify({ connected: true })),
    closed: (event) => {
      if (got < wanted) {
        console.log(JSON.stringify({ closed: event.code, reason: event.reason }));
        process.exit(2);
      }
    },
  },
});

client.subscribe(
  { query, variables: variables ? JSON.parse(variables) : {} },
  {
    next: (result) => {
      console.log(JSON.stringify(result));
      got += 1;
      if (got >= wanted) {
        client.dispose();
        process.exit(0);
      }
    },
    error: (error) => {
      console.log(JSON.stringify({ error: String(error?.message ?? error?.reason ?? JSON.stringify(error)) }));
      process.exit(2);
    },
    complete: () => {
      if (got < wanted) {
        console.log(JSON.stringify({ complete: got }));
        process.exit(2);
      }
    },
  },
);
setTimeout(() => {
  console.log(JSON.stringify({ timeout: got }));
  process.exit(3);
}, 30000);

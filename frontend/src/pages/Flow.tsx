import { useState } from 'react';
import { graphql } from '../gql';
import type { FlowSubscription, Layer } from '../gql/graphql';
import { ApiError, request } from '../api';
import { useQuery, useSubscription } from '../hooks';
import { ErrorBox, Page } from '../ui';

const LIVE = graphql(`
  subscription Flow {
    flowEvents { id layer kind entityType entityId status message data at traceId }
  }
`);
const RECENT = graphql(`
  query FlowSnapshot {
    flowEventsSnapshot(first: 60) { id layer kind entityType entityId status message data at traceId }
  }
`);
const DEMO = graphql(`
  mutation FlowDemo { startFlowDemo(rate: 5, seconds: 10) { events until } }
`);

type Event = FlowSubscription['flowEvents'];
const LAYERS: [Layer, string][] = [
  ['AAM', 'AAM · connectors'],
  ['DCL', 'DCL · mappings & records'],
  ['AGENT', 'Agent · jobs'],
];
const KEEP = 100;

export function Flow() {
  const [events, setEvents] = useState<Event[]>([]);
  const [picked, setPicked] = useState<Event | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const recent = useQuery(RECENT, {}, 'flow-recent');
  const live = useSubscription(LIVE, {}, 'flow', (d) => setEvents((e) => [d.flowEvents, ...e].slice(0, KEEP * 3)));
  const all = [...events, ...(recent.data?.flowEventsSnapshot ?? []).filter((r) => !events.some((e) => e.id === r.id))];

  async function demo() {
    setError(null);
    try {
      await request(DEMO, {});
    } catch (e) {
      setError(e as ApiError);
    }
  }

  return (
    <Page
      title="Flow monitor"
      actions={
        <button type="button" onClick={demo}>
          Start a demo flow
        </button>
      }
    >
      {live && <ErrorBox error={live} />}
      {error && <ErrorBox error={error} />}
      {recent.error && <ErrorBox error={recent.error} retry={recent.reload} />}
      <div className="flow">
        {LAYERS.map(([layer, label]) => (
          <section key={layer} className="flow-col" aria-label={label}>
            <h2>{label}</h2>
            <ol aria-live="polite" data-testid={`flow-${layer}`}>
              {all
                .filter((e) => e.layer === layer)
                .slice(0, KEEP)
                .map((e) => (
                  <li key={e.id}>
                    <button type="button" className="event" onClick={() => setPicked(e)}>
                      <span className={`badge status-${e.status.toLowerCase()}`}>{e.status || e.kind}</span> {e.kind}{' '}
                      <span className="muted small">{new Date(e.at).toLocaleTimeString()}</span>
                      <div className="small">{e.message}</div>
                    </button>
                  </li>
                ))}
            </ol>
          </section>
        ))}
      </div>
      {picked && (
        <aside className="card details" aria-label="Event details">
          <button type="button" className="ghost" onClick={() => setPicked(null)}>
            Close
          </button>
          <h2>
            {picked.layer} · {picked.kind}
          </h2>
          <pre>{JSON.stringify(picked, null, 2)}</pre>
        </aside>
      )}
    </Page>
  );
}

import { useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import type { WebhookEventType } from '../gql/graphql';
import { ApiError, request } from '../api';
import { useQuery } from '../hooks';
import { ErrorBox, Loading, Page } from '../ui';

const ENDPOINTS = graphql(`
  query WebhookEndpoints {
    webhookEndpoints { id url description eventTypes enabled disabledReason consecutiveFailures }
  }
`);
const CREATE = graphql(`
  mutation CreateWebhook($i: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $i) { secret endpoint { id } }
  }
`);
const UPDATE = graphql(`
  mutation UpdateWebhook($id: ID!, $i: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(id: $id, input: $i) { id enabled }
  }
`);
const ROTATE = graphql(`
  mutation RotateWebhookSecret($id: ID!) { rotateWebhookSecret(id: $id) }
`);
const DELETE = graphql(`
  mutation DeleteWebhook($id: ID!) { deleteWebhookEndpoint(id: $id) }
`);
const TEST = graphql(`
  mutation SendTestWebhook($id: ID!) { sendTestWebhook(id: $id) { status lastStatusCode lastError } }
`);
const LOG = graphql(`
  query WebhookLog($e: ID!) {
    webhookDeliveries(endpointId: $e, first: 20) {
      totalCount
      edges { node { id eventType messageId status attempts lastStatusCode lastError lastAttemptAt nextAttemptAt } }
    }
  }
`);

const EVENTS: [WebhookEventType, string][] = [
  ['DRIFT_DETECTED', 'schema drift'],
  ['DRIFT_BREAKING', 'breaking drift'],
  ['SYNC_RUN_FAILED', 'sync run failed'],
  ['SYNC_RUN_SUCCEEDED', 'sync run succeeded'],
  ['CONNECTOR_UNHEALTHY', 'connector unhealthy'],
  ['REVIEW_QUEUE_ABOVE_THRESHOLD', 'review queue above threshold'],
  ['RECORDS_MERGED', 'records merged'],
];

const when = (t: string | null | undefined) => (t ? new Date(t).toLocaleString() : '—');

function DeliveryLog({ endpoint }: { endpoint: string }) {
  const log = useQuery(LOG, { e: endpoint }, endpoint);
  if (log.loading && !log.data) return <Loading what="deliveries" />;
  if (log.error) return <ErrorBox error={log.error} retry={log.reload} />;
  const rows = log.data?.webhookDeliveries.edges ?? [];
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Delivery log">
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last answer</th>
            <th scope="col">Last attempt</th>
            <th scope="col">Next attempt</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ node }) => (
            <tr key={node.id}>
              <td title={node.messageId}>{node.eventType}</td>
              <td>
                <span className={`badge status-${node.status.toLowerCase()}`}>{node.status}</span>
              </td>
              <td>{node.attempts}</td>
              <td>{node.lastStatusCode ?? node.lastError ?? '—'}</td>
              <td>{when(node.lastAttemptAt)}</td>
              <td>{when(node.nextAttemptAt)}</td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                Nothing sent yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <button type="button" className="ghost" onClick={log.reload}>
        Refresh log
      </button>
    </div>
  );
}

export function Webhooks() {
  const list = useQuery(ENDPOINTS, {}, 'webhooks');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<WebhookEventType[]>(['SYNC_RUN_FAILED', 'DRIFT_BREAKING', 'CONNECTOR_UNHEALTHY']);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [note, setNote] = useState<string | null>(null);

  async function act(action: () => Promise<string | void>) {
    setError(null);
    setNote(null);
    try {
      const said = await action();
      if (said) setNote(said);
      list.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  }
  function create(e: FormEvent) {
    e.preventDefault();
    void act(async () => {
      const made = (await request(CREATE, { i: { url, eventTypes: events } })).createWebhookEndpoint;
      setSecret(made.secret);
      setOpen(made.endpoint.id);
      setUrl('');
    });
  }
  const toggle = (t: WebhookEventType) => setEvents((now) => (now.includes(t) ? now.filter((x) => x !== t) : [...now, t]));

  return (
    <Page title="Webhooks">
      <form className="card" onSubmit={create} aria-label="New webhook endpoint">
        <label>
          Endpoint URL
          <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} required placeholder="https://example.com/autonomos" />
        </label>
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map(([t, label]) => (
            <label key={t} className="inline">
              <input type="checkbox" checked={events.includes(t)} onChange={() => toggle(t)} /> {label}
            </label>
          ))}
        </fieldset>
        <button type="submit">Add endpoint</button>
      </form>
      {secret && (
        <div className="card" role="status" data-testid="webhook-secret">
          Signing secret (shown once; verify <code>webhook-signature</code> with any Standard Webhooks library): <code>{secret}</code>
        </div>
      )}
      {note && <p role="status">{note}</p>}
      {error && <ErrorBox error={error} />}
      {list.loading && !list.data && <Loading what="webhook endpoints" />}
      {list.error && <ErrorBox error={list.error} retry={list.reload} />}
      {list.data && list.data.webhookEndpoints.length === 0 && <p className="muted">No endpoints yet.</p>}
      {list.data?.webhookEndpoints.map((ep) => (
        <section key={ep.id} className="card" aria-label={`Endpoint ${ep.url}`}>
          <p>
            <strong>{ep.url}</strong>{' '}
            <span className={`badge ${ep.enabled ? 'health-healthy' : 'health-failing'}`}>{ep.enabled ? 'ENABLED' : 'DISABLED'}</span>{' '}
            <span className="muted">
              {ep.eventTypes.join(', ')}
              {ep.disabledReason && ` · ${ep.disabledReason}`}
              {ep.consecutiveFailures > 0 && ` · ${ep.consecutiveFailures} failures in a row`}
            </span>
          </p>
          <div className="row">
            <button
              type="button"
              onClick={() =>
                act(async () => {
                  const d = (await request(TEST, { id: ep.id })).sendTestWebhook;
                  setOpen(ep.id);
                  return `Test ${d.status}${d.lastStatusCode ? ` (HTTP ${d.lastStatusCode})` : ''}${d.lastError ? `: ${d.lastError}` : ''}`;
                })
              }
            >
              Send test
            </button>
            <button type="button" className="ghost" onClick={() => act(async () => void (await request(UPDATE, { id: ep.id, i: { enabled: !ep.enabled } })))}>
              {ep.enabled ? 'Disable' : 'Enable'}
            </button>
            <button type="button" className="ghost" onClick={() => act(async () => setSecret((await request(ROTATE, { id: ep.id })).rotateWebhookSecret))}>
              Rotate secret
            </button>
            <button type="button" className="ghost" onClick={() => setOpen(open === ep.id ? null : ep.id)}>
              {open === ep.id ? 'Hide log' : 'Delivery log'}
            </button>
            <button type="button" className="ghost" onClick={() => act(async () => void (await request(DELETE, { id: ep.id })))}>
              Delete
            </button>
          </div>
          {open === ep.id && <DeliveryLog key={`${ep.id}-${note ?? ''}`} endpoint={ep.id} />}
        </section>
      ))}
    </Page>
  );
}

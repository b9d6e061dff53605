import { useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import { ApiError, request } from '../api';
import { useQuery, useSubscription } from '../hooks';
import { ErrorBox, Loading, Page } from '../ui';

const CONNECTORS = graphql(`
  query Connectors {
    connectors(first: 100) { edges { node { id name kind status lastSyncedAt config } } }
  }
`);
const CREATE = graphql(`
  mutation CreateConnector($i: CreateConnectorInput!) {
    createConnector(input: $i) { id name }
  }
`);
const SYNC = graphql(`
  mutation Sync($id: ID!) {
    syncConnector(id: $id, wait: false) { id status }
  }
`);
const RUN_UPDATED = graphql(`
  subscription RunUpdated($id: ID!) {
    syncRunUpdated(id: $id) { id status counts { recordsRead eventsWritten quarantined fieldsProposed autoApplied needsReview } errors { message } }
  }
`);

function RunStatus({ runId }: { runId: string }) {
  const [run, setRun] = useState<{ status: string; counts: Record<string, unknown>; errors: { message: string }[] } | null>(null);
  const error = useSubscription(RUN_UPDATED, { id: runId }, runId, (d) => setRun(d.syncRunUpdated));
  if (error) return <ErrorBox error={error} />;
  if (!run) return <span className="muted">waiting for the run…</span>;
  return (
    <span className="run" data-testid="run-status">
      <span className={`badge status-${run.status.toLowerCase()}`}>{run.status}</span>{' '}
      {String(run.counts.recordsRead ?? 0)} read · {String(run.counts.eventsWritten ?? 0)} events ·{' '}
      {String(run.counts.needsReview ?? 0)} to review
      {run.errors.length > 0 && <span className="muted"> · {run.errors[0].message}</span>}
    </span>
  );
}

export function Connectors() {
  const list = useQuery(CONNECTORS, {}, 'connectors');
  const [name, setName] = useState('');
  const [path, setPath] = useState('demo/accounts.csv');
  const [idColumn, setIdColumn] = useState('id');
  const [error, setError] = useState<ApiError | null>(null);
  const [runs, setRuns] = useState<Record<string, string>>({});

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await request(CREATE, { i: { name, kind: 'CSV', config: { path, idColumn } } });
      setName('');
      list.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  }
  async function sync(id: string) {
    setError(null);
    try {
      const r = await request(SYNC, { id });
      setRuns((m) => ({ ...m, [id]: r.syncConnector.id }));
    } catch (err) {
      setError(err as ApiError);
    }
  }

  return (
    <Page title="Connectors">
      <form className="card row" onSubmit={create} aria-label="New CSV connector">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          CSV file (under the server's file root)
          <input value={path} onChange={(e) => setPath(e.target.value)} required />
        </label>
        <label>
          Id column
          <input value={idColumn} onChange={(e) => setIdColumn(e.target.value)} />
        </label>
        <button type="submit">Create CSV connector</button>
      </form>
      {error && <ErrorBox error={error} />}
      {list.loading && !list.data && <Loading what="connectors" />}
      {list.error && <ErrorBox error={list.error} retry={list.reload} />}
      {list.data && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Last synced</th>
              <th scope="col">Run</th>
            </tr>
          </thead>
          <tbody>
            {list.data.connectors.edges.map(({ node }) => (
              <tr key={node.id}>
                <td>{node.name}</td>
                <td>{node.kind}</td>
                <td>{node.status}</td>
                <td>{node.lastSyncedAt ? new Date(node.lastSyncedAt).toLocaleString() : 'never'}</td>
                <td>
                  <button type="button" onClick={() => sync(node.id)}>
                    Sync now
                  </button>{' '}
                  {runs[node.id] && <RunStatus runId={runs[node.id]} />}
                </td>
              </tr>
            ))}
            {list.data.connectors.edges.length === 0 && (
              <tr>
                <td colSpan={5} className="muted">
                  No connectors yet: create one above.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </Page>
  );
}

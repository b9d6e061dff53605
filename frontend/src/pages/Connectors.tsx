import { useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import { ApiError, request } from '../api';
import { useQuery, useSubscription } from '../hooks';
import { ErrorBox, Loading, Page } from '../ui';

// 100 connectors of 10 fields each is the API's complexity limit (1,000): a field more wants
// fewer connectors a page.
const CONNECTORS = graphql(`
  query Connectors {
    connectors(first: 100) { edges { node { id name kind status lastSyncedAt config health { state } } } }
  }
`);
const CREATE = graphql(`
  mutation CreateConnector($i: CreateConnectorInput!) {
    createConnector(input: $i) { id name }
  }
`);
const UPDATE = graphql(`
  mutation UpdateConnector($id: ID!, $i: UpdateConnectorInput!) {
    updateConnector(id: $id, input: $i) { id name status config }
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

const TEST = graphql(`
  mutation TestConnection($id: ID!) {
    testConnection(id: $id) { ok message latencyMs health { state } }
  }
`);

/** A connection test's answer, next to the connector it tested. */
function TestButton({ id, onDone }: { id: string; onDone: () => void }) {
  const [result, setResult] = useState<{ ok: boolean; message: string; latencyMs: number } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  async function run() {
    setError(null);
    setResult(null);
    try {
      const d = await request(TEST, { id });
      setResult(d.testConnection);
      onDone();
    } catch (err) {
      setError(err as ApiError);
    }
  }
  return (
    <>
      <button type="button" className="ghost" onClick={run}>
        Test connection
      </button>
      {result && (
        <span className="muted" data-testid="connection-test">
          {' '}
          {result.ok ? 'answered' : 'failed'} in {result.latencyMs} ms · {result.message}
        </span>
      )}
      {error && <ErrorBox error={error} />}
    </>
  );
}

const CANCEL = graphql(`
  mutation CancelRun($id: ID!) {
    cancelSyncRun(id: $id) { id status }
  }
`);

function RunStatus({ runId }: { runId: string }) {
  const [run, setRun] = useState<{ status: string; counts: Record<string, unknown>; errors: { message: string }[] } | null>(null);
  const [cancelError, setCancelError] = useState<ApiError | null>(null);
  const error = useSubscription(RUN_UPDATED, { id: runId }, runId, (d) => setRun(d.syncRunUpdated));
  if (error) return <ErrorBox error={error} />;
  if (!run) return <span className="muted">waiting for the run…</span>;
  // A running run stops at its next checkpoint; the subscription shows CANCELLED then.
  async function cancel() {
    setCancelError(null);
    try {
      await request(CANCEL, { id: runId });
    } catch (err) {
      setCancelError(err as ApiError);
    }
  }
  const active = run.status === 'QUEUED' || run.status === 'RUNNING';
  return (
    <span className="run" data-testid="run-status">
      <span className={`badge status-${run.status.toLowerCase()}`}>{run.status}</span>{' '}
      {String(run.counts.recordsRead ?? 0)} read · {String(run.counts.eventsWritten ?? 0)} events ·{' '}
      {String(run.counts.needsReview ?? 0)} to review
      {run.errors.length > 0 && <span className="muted"> · {run.errors[0].message}</span>}
      {active && (
        <button type="button" className="ghost" onClick={cancel}>
          Cancel run
        </button>
      )}
      {cancelError && <ErrorBox error={cancelError} />}
    </span>
  );
}

type Kind = 'CSV' | 'REST' | 'POSTGRES';

/** A connector configuration typed as JSON; a BAD_USER_INPUT error naming the problem if not. */
function parseConfig(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(`The configuration is not JSON: ${(err as Error).message}`, 'BAD_USER_INPUT');
  }
}
const TEMPLATES: Record<Exclude<Kind, 'CSV'>, object> = {
  REST: {
    baseUrl: 'https://api.example.com',
    auth: { type: 'bearer', token: '<token>' },
    entities: [{ name: 'companies', endpoint: '/v1/companies', recordsPath: 'data', idField: 'id',
      pagination: { type: 'cursor', cursorParam: 'after', cursorPath: 'next', limitParam: 'limit', limit: 100 } }],
  },
  POSTGRES: { host: '127.0.0.1', port: 5432, database: 'crm', user: 'reader', password: '<password>', schema: 'public' },
};

/** Edits a connector: name, status, and its configuration as JSON (secrets stay `********`). */
function Configure({ node, onDone }: { node: { id: string; name: string; status: string; config: unknown }; onDone: () => void }) {
  const [name, setName] = useState(node.name);
  const [status, setStatus] = useState(node.status);
  const [config, setConfig] = useState(JSON.stringify(node.config, null, 2));
  const [error, setError] = useState<ApiError | null>(null);
  async function save(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const parsed = parseConfig(config);
      await request(UPDATE, { id: node.id, i: { name, status: status as 'ACTIVE' | 'PAUSED' | 'ERROR', config: parsed } });
      onDone();
    } catch (err) {
      setError(err as ApiError);
    }
  }
  return (
    <form className="card" onSubmit={save} aria-label={`Configure ${node.name}`}>
      <div className="row">
        <label>
          Connector name
          <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option>ACTIVE</option>
            <option>PAUSED</option>
          </select>
        </label>
      </div>
      <label>
        Configuration (JSON; secrets show as ******** and are kept unless replaced)
        <textarea rows={8} value={config} onChange={(e) => setConfig(e.target.value)} spellCheck={false} />
      </label>
      {error && <ErrorBox error={error} />}
      <div className="row">
        <button type="submit">Save</button>
        <button type="button" className="ghost" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function Connectors() {
  const list = useQuery(CONNECTORS, {}, 'connectors');
  const [name, setName] = useState('');
  const [path, setPath] = useState('demo/accounts.csv');
  const [idColumn, setIdColumn] = useState('id');
  const [error, setError] = useState<ApiError | null>(null);
  const [runs, setRuns] = useState<Record<string, string>>({});
  const [kind, setKind] = useState<Kind>('CSV');
  const [json, setJson] = useState('');
  const [editing, setEditing] = useState<string | null>(null);

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const config = kind === 'CSV' ? { path, idColumn } : parseConfig(json);
      await request(CREATE, { i: { name, kind, config } });
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
          Kind
          <select
            value={kind}
            onChange={(e) => {
              const k = e.target.value as Kind;
              setKind(k);
              if (k !== 'CSV') setJson(JSON.stringify(TEMPLATES[k], null, 2));
            }}
          >
            <option value="CSV">CSV file</option>
            <option value="REST">REST API</option>
            <option value="POSTGRES">PostgreSQL</option>
          </select>
        </label>
        {kind === 'CSV' ? (
          <>
            <label>
              CSV file (path in your workspace's files, e.g. uploads/accounts.csv)
              <input value={path} onChange={(e) => setPath(e.target.value)} required />
            </label>
            <label>
              Id column
              <input value={idColumn} onChange={(e) => setIdColumn(e.target.value)} />
            </label>
          </>
        ) : (
          <label className="wide">
            Configuration (JSON)
            <textarea rows={8} value={json} onChange={(e) => setJson(e.target.value)} spellCheck={false} />
          </label>
        )}
        <button type="submit">Create {kind === 'CSV' ? 'CSV' : kind === 'REST' ? 'REST' : 'PostgreSQL'} connector</button>
      </form>
      {error && <ErrorBox error={error} />}
      {list.loading && !list.data && <Loading what="connectors" />}
      {list.error && <ErrorBox error={list.error} retry={list.reload} />}
      {editing &&
        list.data?.connectors.edges
          .filter(({ node }) => node.id === editing)
          .map(({ node }) => (
            <Configure
              key={node.id}
              node={node}
              onDone={() => {
                setEditing(null);
                list.reload();
              }}
            />
          ))}
      {list.data && (
        <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Health</th>
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
                <td>
                  <span className={`badge health-${node.health.state.toLowerCase()}`}>
                    {node.health.state}
                  </span>
                </td>
                <td>{node.lastSyncedAt ? new Date(node.lastSyncedAt).toLocaleString() : 'never'}</td>
                <td>
                  <button type="button" onClick={() => sync(node.id)}>
                    Sync now
                  </button>{' '}
                  <button type="button" className="ghost" onClick={() => setEditing(editing === node.id ? null : node.id)}>
                    Configure
                  </button>{' '}
                  <TestButton id={node.id} onDone={list.reload} />{' '}
                  {runs[node.id] && <RunStatus runId={runs[node.id]} />}
                </td>
              </tr>
            ))}
            {list.data.connectors.edges.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  No connectors yet: create one above.
                </td>
              </tr>
            )}
          </tbody>
        </table>
        </div>
      )}
    </Page>
  );
}

import { useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import type { DriftPolicy } from '../gql/graphql';
import { ApiError, request } from '../api';
import { useQuery } from '../hooks';
import { ErrorBox, Loading, Page } from '../ui';
import { ConnectorPicker } from './ConnectorPicker';

const STATE = graphql(`
  query Automation($c: ID!) {
    connector(id: $c) {
      id name
      schedule { intervalSeconds cron timezone description enabled nextRunAt lastSlotAt lastOutcome lastMessage }
    }
    schemaObserver(connectorId: $c) { driftPolicy checkIntervalSeconds nextCheckAt lastCheckedAt lastError heldSince heldReason }
    driftEvents(connectorId: $c, first: 50) {
      totalCount
      edges { node { id sourceEntity kind fieldName breaking schemaVersion detectedAt } }
    }
  }
`);
const SET_SCHEDULE = graphql(`
  mutation SetSchedule($c: ID!, $s: SyncScheduleInput!) {
    setSyncSchedule(connectorId: $c, schedule: $s) { nextRunAt }
  }
`);
const REMOVE_SCHEDULE = graphql(`
  mutation RemoveSchedule($c: ID!) { removeSyncSchedule(connectorId: $c) }
`);
const SET_POLICY = graphql(`
  mutation SetPolicy($c: ID!, $p: DriftPolicy!, $s: Int) {
    setDriftPolicy(connectorId: $c, policy: $p, checkIntervalSeconds: $s) { driftPolicy }
  }
`);
const CHECK = graphql(`
  mutation CheckSchema($c: ID!) { checkSchema(connectorId: $c) { entities changes breaking proposed held } }
`);
const ACKNOWLEDGE = graphql(`
  mutation AcknowledgeDrift($c: ID!) { acknowledgeDrift(connectorId: $c) { heldSince } }
`);

const when = (t: string | null | undefined) => (t ? new Date(t).toLocaleString() : '—');

/** Runs a mutation, then reloads; errors shown where the form is. */
function useAction(reload: () => void) {
  const [error, setError] = useState<ApiError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  async function run(action: () => Promise<string | void>) {
    setError(null);
    setNote(null);
    try {
      const said = await action();
      if (said) setNote(said);
      reload();
    } catch (err) {
      setError(err as ApiError);
    }
  }
  return { error, note, run };
}

function ScheduleForm({ connector, reload }: { connector: string; reload: () => void }) {
  const [mode, setMode] = useState<'interval' | 'cron'>('interval');
  const [interval, setInterval] = useState('3600');
  const [cron, setCron] = useState('0 6 * * *');
  const [timezone, setTimezone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [enabled, setEnabled] = useState(true);
  const { error, run } = useAction(reload);
  function save(e: FormEvent) {
    e.preventDefault();
    const s = mode === 'interval' ? { intervalSeconds: Number(interval), timezone, enabled } : { cron, timezone, enabled };
    void run(async () => {
      await request(SET_SCHEDULE, { c: connector, s });
    });
  }
  return (
    <form className="card" onSubmit={save} aria-label="Sync schedule">
      <div className="row">
        <label>
          Repeat
          <select value={mode} onChange={(e) => setMode(e.target.value as 'interval' | 'cron')}>
            <option value="interval">every N seconds</option>
            <option value="cron">on a cron expression</option>
          </select>
        </label>
        {mode === 'interval' ? (
          <label>
            Interval (seconds)
            <input type="number" min={1} value={interval} onChange={(e) => setInterval(e.target.value)} />
          </label>
        ) : (
          <label>
            Cron (minute hour day month weekday)
            <input value={cron} onChange={(e) => setCron(e.target.value)} />
          </label>
        )}
        <label>
          Time zone
          <input value={timezone} onChange={(e) => setTimezone(e.target.value)} />
        </label>
        <label>
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
        </label>
      </div>
      {error && <ErrorBox error={error} />}
      <div className="row">
        <button type="submit">Save schedule</button>
        <button type="button" className="ghost" onClick={() => run(async () => void (await request(REMOVE_SCHEDULE, { c: connector })))}>
          Remove schedule
        </button>
      </div>
    </form>
  );
}

function PolicyForm({ connector, policy, every, reload }: { connector: string; policy: DriftPolicy; every: number; reload: () => void }) {
  const [chosen, setChosen] = useState<DriftPolicy>(policy);
  const [seconds, setSeconds] = useState(String(every));
  const { error, note, run } = useAction(reload);
  function save(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      await request(SET_POLICY, { c: connector, p: chosen, s: Number(seconds) });
      return `Drift policy ${chosen}, checked every ${seconds} s.`;
    });
  }
  function check() {
    void run(async () => {
      const d = (await request(CHECK, { c: connector })).checkSchema;
      return `Checked ${d.entities} entities: ${d.changes} changes, ${d.breaking} breaking, ${d.proposed} proposed${d.held ? '; scheduled syncs held' : ''}.`;
    });
  }
  return (
    <form className="card" onSubmit={save} aria-label="Drift policy">
      <div className="row">
        <label>
          When the source's schema changes
          <select value={chosen} onChange={(e) => setChosen(e.target.value as DriftPolicy)}>
            <option value="PROPAGATE">PROPAGATE (propose, deprecate)</option>
            <option value="IGNORE">IGNORE (record only)</option>
            <option value="PAUSE">PAUSE (hold schedule)</option>
          </select>
        </label>
        <label>
          Check every (seconds)
          <input type="number" min={1} value={seconds} onChange={(e) => setSeconds(e.target.value)} />
        </label>
      </div>
      {error && <ErrorBox error={error} />}
      {note && <p role="status">{note}</p>}
      <div className="row">
        <button type="submit">Save policy</button>
        <button type="button" className="ghost" onClick={check}>
          Check schema now
        </button>
      </div>
    </form>
  );
}

export function Automation() {
  const [connector, setConnector] = useState('');
  return (
    <Page title="Schedules and drift">
      <ConnectorPicker value={connector} onChange={setConnector} />
      {connector && <AutomationOf key={connector} connector={connector} />}
    </Page>
  );
}

function AutomationOf({ connector }: { connector: string }) {
  const state = useQuery(STATE, { c: connector }, connector);
  const ack = useAction(state.reload);
  const d = state.data;
  if (state.loading && !d) return <Loading what="the connector's automation" />;
  if (state.error) return <ErrorBox error={state.error} retry={state.reload} />;
  return (
    <>
      {d && (
        <>
          <section aria-label="Schedule">
            <h2>Schedule</h2>
            <p data-testid="schedule-state">
              {d.connector.schedule
                ? `${d.connector.schedule.description}${d.connector.schedule.enabled ? '' : ' (disabled)'} · next run ${when(d.connector.schedule.nextRunAt)} · last slot ${when(d.connector.schedule.lastSlotAt)}${d.connector.schedule.lastOutcome ? ` ${d.connector.schedule.lastOutcome}` : ''}${d.connector.schedule.lastMessage ? `: ${d.connector.schedule.lastMessage}` : ''}`
                : 'Not scheduled: it syncs when asked.'}
            </p>
            <ScheduleForm key={`s-${connector}`} connector={connector} reload={state.reload} />
          </section>
          <section aria-label="Schema observer">
            <h2>Schema observer</h2>
            <p data-testid="observer-state">
              Policy {d.schemaObserver.driftPolicy} · checked every {d.schemaObserver.checkIntervalSeconds} s · last check{' '}
              {when(d.schemaObserver.lastCheckedAt)} · next {when(d.schemaObserver.nextCheckAt)}
              {d.schemaObserver.lastError && <span className="muted"> · last check failed: {d.schemaObserver.lastError}</span>}
            </p>
            {d.schemaObserver.heldSince && (
              <div className="card" role="alert">
                Scheduled syncs held since {when(d.schemaObserver.heldSince)}: {d.schemaObserver.heldReason}{' '}
                <button type="button" onClick={() => ack.run(async () => void (await request(ACKNOWLEDGE, { c: connector })))}>
                  Acknowledge drift
                </button>
                {ack.error && <ErrorBox error={ack.error} />}
              </div>
            )}
            <PolicyForm
              key={`p-${connector}-${d.schemaObserver.driftPolicy}`}
              connector={connector}
              policy={d.schemaObserver.driftPolicy}
              every={d.schemaObserver.checkIntervalSeconds}
              reload={state.reload}
            />
          </section>
          <section aria-label="Drift timeline">
            <h2>Drift timeline ({d.driftEvents.totalCount})</h2>
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Detected</th>
                    <th scope="col">Entity</th>
                    <th scope="col">Change</th>
                    <th scope="col">Field</th>
                    <th scope="col">Schema version</th>
                  </tr>
                </thead>
                <tbody>
                  {d.driftEvents.edges.map(({ node }) => (
                    <tr key={node.id}>
                      <td>{when(node.detectedAt)}</td>
                      <td>{node.sourceEntity}</td>
                      <td>
                        {node.kind}
                        {node.breaking && <span className="badge status-failed"> BREAKING</span>}
                      </td>
                      <td>{node.fieldName}</td>
                      <td>{node.schemaVersion}</td>
                    </tr>
                  ))}
                  {d.driftEvents.edges.length === 0 && (
                    <tr>
                      <td colSpan={5} className="muted">
                        No schema changes seen yet.
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </>
  );
}

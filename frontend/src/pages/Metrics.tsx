import { useState } from 'react';
import { graphql } from '../gql';
import { useQuery } from '../hooks';
import { ErrorBox, Loading, Page } from '../ui';

const METRICS = graphql(`
  query Metrics($from: DateTime!, $to: DateTime!) {
    mappingMetrics(from: $from, to: $to, granularity: HOUR) {
      coverage { sourceFields sourceFieldsMapped sourceFieldShare canonicalFields canonicalFieldsPopulated canonicalFieldShare }
      confidenceHistogram { from to count }
      methods { method count share }
      reviewQueue { size oldestAgeSeconds medianAgeSeconds }
      errorTrend { at events eventsWithErrors valueErrors }
    }
    usage {
      connectors { used limit }
      proposalsThisMonth { used limit resetsAt }
      eventsThisHour { used limit resetsAt }
    }
  }
`);

type Quota = { used: number; limit: number; resetsAt?: string | null };

/** The tenant's quotas: how much of each is used, and when metered ones start afresh. */
function Quotas({ items }: { items: { label: string; quota: Quota }[] }) {
  return (
    <figure className="bars" aria-label="Quota use">
      <figcaption>Quotas</figcaption>
      {items.map(({ label, quota }) => (
        <div key={label} className="quota-row">
          <span className="small">{label}</span>
          <progress value={quota.used} max={Math.max(1, quota.limit)} aria-label={`${label} used`} />
          <span className="small">
            {quota.used.toLocaleString()} of {quota.limit.toLocaleString()}
            {quota.resetsAt && <> · resets {new Date(quota.resetsAt).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })}</>}
          </span>
        </div>
      ))}
    </figure>
  );
}

function Bars({ items, label }: { items: { label: string; value: number }[]; label: string }) {
  const max = Math.max(1, ...items.map((i) => i.value));
  return (
    <figure className="bars" aria-label={label}>
      <figcaption>{label}</figcaption>
      {items.map((i) => (
        <div key={i.label} className="bar-row">
          <span className="small">{i.label}</span>
          <span className="bar" style={{ width: `${(i.value / max) * 100}%` }} />
          <span className="small">{i.value}</span>
        </div>
      ))}
    </figure>
  );
}

export function Metrics() {
  const [hours, setHours] = useState(24);
  const to = new Date();
  to.setMinutes(0, 0, 0);
  to.setHours(to.getHours() + 1);
  const from = new Date(to.getTime() - hours * 3600_000);
  const m = useQuery(METRICS, { from: from.toISOString(), to: to.toISOString() }, `${hours}`);
  const d = m.data?.mappingMetrics;
  const usage = m.data?.usage;
  return (
    <Page
      title="Mapping metrics"
      actions={
        <label>
          Window{' '}
          <select value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            <option value={24}>24 hours</option>
            <option value={168}>7 days</option>
          </select>
        </label>
      }
    >
      {m.loading && !d && <Loading what="metrics" />}
      {m.error && <ErrorBox error={m.error} retry={m.reload} />}
      {d && (
        <div className="metrics">
          <div className="card stat">
            <strong>{Math.round(d.coverage.sourceFieldShare * 100)}%</strong> of {d.coverage.sourceFields} source fields
            mapped
          </div>
          <div className="card stat">
            <strong>{Math.round(d.coverage.canonicalFieldShare * 100)}%</strong> of {d.coverage.canonicalFields} canonical
            fields populated
          </div>
          <div className="card stat">
            <strong>{d.reviewQueue.size}</strong> waiting for review
            {d.reviewQueue.oldestAgeSeconds != null && <> (oldest {Math.round(d.reviewQueue.oldestAgeSeconds / 60)} min)</>}
          </div>
          <Bars
            label="Confidence"
            items={d.confidenceHistogram.map((b) => ({ label: `${b.from.toFixed(1)}–${b.to.toFixed(1)}`, value: b.count }))}
          />
          <Bars label="Methods" items={d.methods.map((x) => ({ label: x.method, value: x.count }))} />
          <Bars
            label="Events with errors per hour"
            items={d.errorTrend.slice(-24).map((p) => ({
              label: new Date(p.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
              value: p.eventsWithErrors,
            }))}
          />
          {usage && (
            <Quotas
              items={[
                { label: 'Connectors', quota: usage.connectors },
                { label: 'Fields proposed this month', quota: usage.proposalsThisMonth },
                { label: 'Events this hour', quota: usage.eventsThisHour },
              ]}
            />
          )}
        </div>
      )}
    </Page>
  );
}

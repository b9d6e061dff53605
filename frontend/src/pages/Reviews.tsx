import { useEffect, useState } from 'react';
import { graphql } from '../gql';
import { ApiError, request } from '../api';
import { useQuery, useSubscription } from '../hooks';
import { Confidence, ErrorBox, Loading, Page } from '../ui';

const QUEUE = graphql(`
  query ReviewQueue {
    reviewQueue(status: PENDING, first: 25) {
      totalCount
      edges { node { id sourceSystem sourceEntity sourceField samples reason confidence
        candidates { canonicalEntity canonicalField confidence method } } }
    }
  }
`);
const APPROVE = graphql(`
  mutation Approve($id: ID!, $c: Int!) { approveProposal(id: $id, candidate: $c) { id status } }
`);
const REJECT = graphql(`
  mutation Reject($id: ID!) { rejectProposal(id: $id, reason: "rejected in the review queue") { id status } }
`);
const EDIT = graphql(`
  mutation EditProposal($id: ID!, $e: String!, $f: String!) {
    editProposal(id: $id, canonicalEntity: $e, canonicalField: $f) { id status }
  }
`);
const TARGETS = graphql(`
  query Targets { ontology { entities { name fields { name } } } }
`);
const CHANGED = graphql(`
  subscription QueueChanged { reviewQueueChanged { change pending } }
`);

/** Maps a proposal to a target of the reviewer's choice. */
function EditTarget({ onPick }: { onPick: (entity: string, field: string) => void }) {
  const targets = useQuery(TARGETS, {}, 'targets');
  const [value, setValue] = useState('');
  if (targets.error) return <ErrorBox error={targets.error} retry={targets.reload} />;
  const options = targets.data?.ontology.entities.flatMap((e) => e.fields.map((f) => `${e.name}.${f.name}`)) ?? [];
  return (
    <span className="row inline">
      <label>
        Map to
        <select value={value} onChange={(e) => setValue(e.target.value)}>
          <option value="">choose a canonical field…</option>
          {options.map((o) => (
            <option key={o}>{o}</option>
          ))}
        </select>
      </label>
      <button
        type="button"
        disabled={!value}
        onClick={() => {
          const [e, f] = value.split('.');
          onPick(e, f);
        }}
      >
        Map
      </button>
    </span>
  );
}

export function Reviews() {
  const queue = useQuery(QUEUE, {}, 'reviews');
  const [selected, setSelected] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const live = useSubscription(CHANGED, {}, 'reviews', () => queue.reload());
  const items = queue.data?.reviewQueue.edges.map((e) => e.node) ?? [];

  async function decide(id: string, approve: boolean, candidate = 0) {
    setError(null);
    try {
      if (approve) await request(APPROVE, { id, c: candidate });
      else await request(REJECT, { id });
      queue.reload();
    } catch (e) {
      setError(e as ApiError);
    }
  }

  // Keyboard: j / k move, a approves the top candidate, r rejects.
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement) return;
      const item = items[selected];
      if (e.key === 'j') setSelected((s) => Math.min(s + 1, items.length - 1));
      else if (e.key === 'k') setSelected((s) => Math.max(s - 1, 0));
      else if (e.key === 'a' && item) void decide(item.id, true);
      else if (e.key === 'r' && item) void decide(item.id, false);
    };
    addEventListener('keydown', on);
    return () => removeEventListener('keydown', on);
  });

  return (
    <Page title={`Review queue${queue.data ? ` (${queue.data.reviewQueue.totalCount})` : ''}`}>
      <p className="muted">Keys: j / k to move, a to approve the top candidate, r to reject.</p>
      {live && <ErrorBox error={live} />}
      {error && <ErrorBox error={error} />}
      {queue.loading && !queue.data && <Loading what="the review queue" />}
      {queue.error && <ErrorBox error={queue.error} retry={queue.reload} />}
      {queue.data && items.length === 0 && <p className="muted">Nothing waits for review.</p>}
      <ul className="reviews" aria-label="Proposals to review">
        {items.map((r, i) => (
          <li
            key={r.id}
            aria-current={i === selected ? 'true' : undefined}
            className={i === selected ? 'card selected' : 'card'}
            onClick={() => setSelected(i)}
          >
            <div className="review-head">
              <strong>
                {r.sourceSystem}.{r.sourceEntity}.{r.sourceField}
              </strong>
              <span className="muted">{r.reason}</span>
              <Confidence value={r.confidence} />
            </div>
            {r.samples.length > 0 && <div className="muted">samples: {r.samples.slice(0, 3).join(', ')}</div>}
            <ol className="candidates">
              {r.candidates.map((c, ci) => (
                <li key={`${c.canonicalEntity}.${c.canonicalField}`}>
                  {c.canonicalEntity}.{c.canonicalField} <Confidence value={c.confidence} />{' '}
                  <span className="muted">{c.method}</span>{' '}
                  <button type="button" onClick={() => decide(r.id, true, ci)}>
                    Approve
                  </button>
                </li>
              ))}
            </ol>
            <div className="row inline">
              <button type="button" className="danger" onClick={() => decide(r.id, false)}>
                Reject
              </button>
              {i === selected && (
                <EditTarget
                  onPick={async (e, f) => {
                    setError(null);
                    try {
                      await request(EDIT, { id: r.id, e, f });
                      queue.reload();
                    } catch (err) {
                      setError(err as ApiError);
                    }
                  }}
                />
              )}
            </div>
          </li>
        ))}
      </ul>
    </Page>
  );
}

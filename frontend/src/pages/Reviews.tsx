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
const CHANGED = graphql(`
  subscription QueueChanged { reviewQueueChanged { change pending } }
`);

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
      <ul className="reviews" role="listbox" aria-label="Proposals to review">
        {items.map((r, i) => (
          <li
            key={r.id}
            role="option"
            aria-selected={i === selected}
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
            <button type="button" className="danger" onClick={() => decide(r.id, false)}>
              Reject
            </button>
          </li>
        ))}
      </ul>
    </Page>
  );
}

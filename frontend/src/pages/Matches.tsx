import { useState } from 'react';
import { graphql } from '../gql';
import { ApiError, request } from '../api';
import { useQuery } from '../hooks';
import { Confidence, ErrorBox, Loading, Page } from '../ui';

const QUEUE = graphql(`
  query MatchQueue {
    matchCandidates(first: 25) {
      totalCount
      edges { node { id entity score evidence records { canonicalId sourceSystem sourceRecordId data } } }
    }
  }
`);
const DECIDE = graphql(`
  mutation DecideMatch($id: ID!, $d: MatchDecision!) { decideMatch(id: $id, decision: $d) { id status } }
`);

interface Comparison {
  field: string;
  level: string;
  weight: number;
}

/** Pairs of records that may be the same thing: a person links them or keeps them apart. */
export function Matches() {
  const queue = useQuery(QUEUE, {}, 'matches');
  const [error, setError] = useState<ApiError | null>(null);
  const items = queue.data?.matchCandidates.edges.map((e) => e.node) ?? [];
  async function decide(id: string, link: boolean) {
    setError(null);
    try {
      await request(DECIDE, { id, d: link ? 'LINK' : 'KEEP_APART' });
      queue.reload();
    } catch (e) {
      setError(e as ApiError);
    }
  }
  return (
    <Page title={`Match review${queue.data ? ` (${queue.data.matchCandidates.totalCount})` : ''}`}>
      {error && <ErrorBox error={error} />}
      {queue.loading && !queue.data && <Loading what="the match review queue" />}
      {queue.error && <ErrorBox error={queue.error} retry={queue.reload} />}
      {queue.data && items.length === 0 && <p className="muted">No pairs wait for review.</p>}
      <ul className="reviews" aria-label="Pairs to review">
        {items.map((m) => {
          const comparisons = ((m.evidence as { comparisons?: Comparison[] }).comparisons ?? []) as Comparison[];
          const fields = Array.from(
            new Set(m.records.flatMap((r) => Object.keys(r.data as Record<string, unknown>))),
          ).sort();
          return (
            <li key={m.id} className="card">
              <div className="review-head">
                <strong>{m.entity}</strong> <Confidence value={m.score} />
              </div>
              <div className="table-wrap" tabIndex={0}>
                <table className="table" aria-label={`Pair ${m.id}`}>
                  <thead>
                    <tr>
                      <th>field</th>
                      {m.records.map((r) => (
                        <th key={r.canonicalId}>
                          {r.sourceSystem} #{r.sourceRecordId}
                        </th>
                      ))}
                      <th>comparison</th>
                    </tr>
                  </thead>
                  <tbody>
                    {fields.map((f) => {
                      const c = comparisons.find((x) => x.field === f);
                      return (
                        <tr key={f}>
                          <td>{f}</td>
                          {m.records.map((r) => (
                            <td key={r.canonicalId}>{String((r.data as Record<string, unknown>)[f] ?? '—')}</td>
                          ))}
                          <td className="muted">{c ? `${c.level} (${c.weight > 0 ? '+' : ''}${c.weight.toFixed(1)})` : ''}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
              <div className="row inline">
                <button type="button" onClick={() => decide(m.id, true)}>
                  Link
                </button>
                <button type="button" className="danger" onClick={() => decide(m.id, false)}>
                  Keep apart
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </Page>
  );
}

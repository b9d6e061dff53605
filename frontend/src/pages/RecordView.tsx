import { useState } from 'react';
import { graphql } from '../gql';
import { ApiError, request } from '../api';
import { useQuery, useSubscription } from '../hooks';
import { ErrorBox, Loading, Page } from '../ui';

const RECORD = graphql(`
  query RecordView($e: String!, $id: ID!) {
    record(entity: $e, id: $id) {
      id entity memberCount version updatedAt
      values { field value
        provenance { sourceSystem sourceRecordId sourceField mappingVersion transformed rule }
        alternatives { value provenance { sourceSystem sourceField } } }
      members { canonicalId sourceSystem sourceRecordId linkRule linkScore linkedBy }
      related { field entity id incoming }
      history(first: 20) { edges { node { id kind actor at } } }
    }
  }
`);
const UNLINK = graphql(`
  mutation UnlinkMember($e: String!, $c: ID!) { unlinkRecord(entity: $e, canonicalId: $c) { id } }
`);
const CHANGED = graphql(`
  subscription RecordChanged($e: String!) { unifiedRecordsChanged(entity: $e) { id change } }
`);

function params() {
  const p = new URLSearchParams(location.hash.split('?')[1]);
  return { entity: p.get('entity') ?? 'account', id: p.get('id') ?? '' };
}

/** One unified record: each value with where it came from and the other sources' values. */
export function RecordView() {
  const { entity, id } = params();
  const record = useQuery(RECORD, { e: entity, id }, `${entity}/${id}`);
  const [error, setError] = useState<ApiError | null>(null);
  useSubscription(CHANGED, { e: entity }, entity, (d) => {
    if (d.unifiedRecordsChanged.id === id) record.reload();
  });
  const r = record.data?.record;
  return (
    <Page title={r ? `${entity} record` : 'Record'} actions={<a href={`#/records?entity=${entity}`}>All {entity} records</a>}>
      {record.loading && !record.data && <Loading what="the record" />}
      {record.error && <ErrorBox error={record.error} retry={record.reload} />}
      {error && <ErrorBox error={error} />}
      {record.data && !r && <p className="muted">This record no longer exists (merged or removed).</p>}
      {r && (
        <>
          <p className="muted">
            {r.memberCount} source record{r.memberCount === 1 ? '' : 's'} · version {r.version} · updated{' '}
            {new Date(r.updatedAt).toLocaleString()}
          </p>
          <div className="table-wrap" tabIndex={0}>
            <table className="table" aria-label="Values and provenance">
              <thead>
                <tr>
                  <th>field</th>
                  <th>value</th>
                  <th>from</th>
                  <th>rule</th>
                  <th>alternatives</th>
                </tr>
              </thead>
              <tbody>
                {r.values.map((v) => (
                  <tr key={v.field}>
                    <td>{v.field}</td>
                    <td>{String(v.value)}</td>
                    <td>
                      {v.provenance.sourceSystem} · {v.provenance.sourceField} ({v.provenance.sourceRecordId}) · mapping v
                      {v.provenance.mappingVersion}
                      {v.provenance.transformed ? ' · transformed' : ''}
                    </td>
                    <td>{v.provenance.rule}</td>
                    <td>
                      {v.alternatives.map((a, i) => (
                        <div key={i} className="muted">
                          {String(a.value)} ({a.provenance.sourceSystem})
                        </div>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>Source records</h2>
          <ul aria-label="Source records">
            {r.members.map((m) => (
              <li key={m.canonicalId}>
                {m.sourceSystem} #{m.sourceRecordId} · linked by {m.linkRule}
                {m.linkScore != null ? ` (${Math.round(m.linkScore * 100)}%)` : ''}
                {m.linkedBy ? ` · ${m.linkedBy}` : ''}{' '}
                {r.members.length > 1 && (
                  <button
                    type="button"
                    onClick={async () => {
                      setError(null);
                      try {
                        await request(UNLINK, { e: entity, c: m.canonicalId });
                        record.reload();
                      } catch (e) {
                        setError(e as ApiError);
                      }
                    }}
                  >
                    Unlink
                  </button>
                )}
              </li>
            ))}
          </ul>
          {r.related.length > 0 && (
            <>
              <h2>Related</h2>
              <ul aria-label="Related records">
                {r.related.map((x) => (
                  <li key={`${x.entity}/${x.id}/${x.field}`}>
                    <a href={`#/record?entity=${x.entity}&id=${x.id}`}>
                      {x.incoming ? `${x.entity} referring here by ${x.field}` : `${x.field} → ${x.entity}`}
                    </a>
                  </li>
                ))}
              </ul>
            </>
          )}
          <h2>History</h2>
          <ul aria-label="History">
            {r.history.edges.map(({ node: h }) => (
              <li key={h.id}>
                {new Date(h.at).toLocaleString()} · {h.kind}
                {h.actor ? ` · ${h.actor}` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </Page>
  );
}

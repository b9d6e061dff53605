import { useEffect, useMemo, useState } from 'react';
import { graphql } from '../gql';
import type { RecordsPageQuery } from '../gql/graphql';
import { ApiError, request } from '../api';
import { useQuery, useSubscription } from '../hooks';
import { ErrorBox, Loading, Page } from '../ui';

const ENTITIES = graphql(`
  query RecordEntities { ontology { entities { name fields { name dataType } } } }
`);
const PAGE = graphql(`
  query RecordsPage($e: String!, $f: RecordFilter, $s: String, $o: RecordSort, $after: String) {
    records(entity: $e, filter: $f, search: $s, sort: $o, first: 25, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id memberCount data updatedAt } }
    }
  }
`);
const CHANGED = graphql(`
  subscription RecordsChanged($e: String!) { unifiedRecordsChanged(entity: $e) { id change } }
`);

type Row = RecordsPageQuery['records']['edges'][number]['node'];
const OPS = ['EQ', 'NE', 'CONTAINS', 'STARTS_WITH', 'GT', 'LT', 'IS_NULL', 'IS_NOT_NULL'] as const;

/** Unified records of an entity: search, one filter condition, sort, pages, live updates. */
export function Records() {
  const model = useQuery(ENTITIES, {}, 'entities');
  const [entity, setEntity] = useState(new URLSearchParams(location.hash.split('?')[1]).get('entity') ?? 'account');
  const [search, setSearch] = useState('');
  const [field, setField] = useState('');
  const [op, setOp] = useState<(typeof OPS)[number]>('EQ');
  const [value, setValue] = useState('');
  const [sortField, setSortField] = useState('');
  const [desc, setDesc] = useState(false);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [rows, setRows] = useState<Row[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);

  const fields = useMemo(
    () => model.data?.ontology.entities.find((e) => e.name === entity)?.fields ?? [],
    [model.data, entity],
  );
  // The record's label first (the column that opens it), then the other fields.
  const names = fields.map((f) => f.name).filter((f) => !f.endsWith('_at'));
  const label = ['name', 'company', 'last_name', 'email'].find((l) => names.includes(l)) ?? names[0];
  const columns = [label, ...names.filter((n) => n !== label)].filter(Boolean).slice(0, 6);
  const filter = useMemo(() => {
    if (!field) return null;
    if (op === 'IS_NULL' || op === 'IS_NOT_NULL') return { field, op };
    if (!value) return null;
    const type = fields.find((f) => f.name === field)?.dataType;
    const typed = type === 'integer' || type === 'decimal' ? Number(value) : value;
    return { field, op, value: typed };
  }, [field, op, value, fields]);
  const after = cursors[cursors.length - 1];

  useEffect(() => {
    let live = true;
    setLoading(true);
    const t = setTimeout(() => {
      request(PAGE, {
        e: entity,
        f: filter,
        s: search || null,
        o: sortField ? { field: sortField, direction: desc ? 'DESC' : 'ASC' } : null,
        after,
      })
        .then((d) => {
          if (!live) return;
          setRows(d.records.edges.map((e) => e.node));
          setTotal(d.records.totalCount);
          setNext(d.records.pageInfo.hasNextPage ? d.records.pageInfo.endCursor ?? null : null);
          setError(null);
        })
        .catch((e: ApiError) => live && setError(e))
        .finally(() => live && setLoading(false));
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [entity, filter, search, sortField, desc, after, tick]);
  const restart = () => setCursors([null]);
  const live = useSubscription(CHANGED, { e: entity }, entity, () => setTick((t) => t + 1));

  return (
    <Page title={`Records${total != null ? ` (${total})` : ''}`}>
      {live && <ErrorBox error={live} />}
      <div className="row">
        <label>
          Entity
          <select value={entity} onChange={(e) => (setEntity(e.target.value), setField(''), setSortField(''), restart())}>
            {(model.data?.ontology.entities ?? [{ name: entity }]).map((e) => (
              <option key={e.name}>{e.name}</option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input value={search} onChange={(e) => (setSearch(e.target.value), restart())} placeholder="words in any value" />
        </label>
        <label>
          Filter field
          <select value={field} onChange={(e) => (setField(e.target.value), restart())}>
            <option value="">none</option>
            {fields.map((f) => (
              <option key={f.name}>{f.name}</option>
            ))}
          </select>
        </label>
        <label>
          Operator
          <select value={op} onChange={(e) => (setOp(e.target.value as (typeof OPS)[number]), restart())}>
            {OPS.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </label>
        <label>
          Value
          <input value={value} onChange={(e) => (setValue(e.target.value), restart())} />
        </label>
        <label>
          Sort by
          <select value={sortField} onChange={(e) => (setSortField(e.target.value), restart())}>
            <option value="">creation</option>
            {fields.map((f) => (
              <option key={f.name}>{f.name}</option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={desc} onChange={(e) => (setDesc(e.target.checked), restart())} /> descending
        </label>
      </div>
      {error && <ErrorBox error={error} />}
      {loading && rows.length === 0 && <Loading what="records" />}
      {!loading && !error && rows.length === 0 && <p className="muted">No unified records match.</p>}
      {rows.length > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table className="table" aria-label="Unified records">
            <thead>
              <tr>
                {columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
                <th>sources</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  {columns.map((c, i) => {
                    const v = (r.data as Record<string, unknown>)[c];
                    const text = v == null ? '—' : String(v);
                    return (
                      <td key={c}>
                      {i === 0 ? <a href={`#/record?entity=${entity}&id=${r.id}`}>{v == null ? 'open' : text}</a> : text}
                    </td>
                    );
                  })}
                  <td>{r.memberCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="row inline">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!next} onClick={() => next && setCursors((c) => [...c, next])}>
          Next page
        </button>
      </div>
    </Page>
  );
}

import { useEffect, useMemo, useRef, useState } from 'react';
import { graphql } from '../gql';
import type { LineageColumn, LineageRowsQuery } from '../gql/graphql';
import { ApiError, request } from '../api';
import { Confidence, ErrorBox, Loading, Page } from '../ui';

const ROWS = graphql(`
  query LineageRows($f: LineageFilter, $s: String, $o: LineageSort, $after: String) {
    lineageGrid(filter: $f, search: $s, sort: $o, first: 100, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id sourceSystem sourceTable sourceField canonicalEntity canonicalField mappingType method
        confidence status version lastValidated successRate avgProcessingMs errorCount } }
    }
  }
`);
const EXPORT = graphql(`
  mutation ExportLineage($format: ExportFormat!, $f: LineageFilter, $s: String) {
    exportLineage(format: $format, filter: $f, search: $s) { url rows }
  }
`);

type Row = LineageRowsQuery['lineageGrid']['edges'][number]['node'];
const COLUMNS: [LineageColumn, string, (r: Row) => React.ReactNode][] = [
  ['SOURCE_SYSTEM', 'Source', (r) => r.sourceSystem],
  ['SOURCE_TABLE', 'Table', (r) => r.sourceTable],
  ['SOURCE_FIELD', 'Field', (r) => r.sourceField],
  ['CANONICAL_ENTITY', 'Entity', (r) => r.canonicalEntity],
  ['CANONICAL_FIELD', 'Canonical field', (r) => r.canonicalField],
  ['METHOD', 'Method', (r) => r.method],
  ['CONFIDENCE', 'Confidence', (r) => <Confidence value={r.confidence} />],
  ['STATUS', 'Status', (r) => <span className={`badge status-${r.status.toLowerCase()}`}>{r.status}</span>],
  ['VERSION', 'v', (r) => r.version],
  ['SUCCESS_RATE', 'Success', (r) => (r.successRate == null ? '—' : `${(r.successRate * 100).toFixed(1)}%`)],
  ['ERROR_COUNT', 'Errors', (r) => r.errorCount],
];
const ROW_HEIGHT = 36;
const VIEW_HEIGHT = 520;

export function Grid() {
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [minConfidence, setMinConfidence] = useState('');
  const [sort, setSort] = useState<{ column: LineageColumn; direction: 'ASC' | 'DESC' }>({
    column: 'CONFIDENCE',
    direction: 'DESC',
  });
  const [rows, setRows] = useState<Row[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [exported, setExported] = useState<{ url: string; rows: number; format: string } | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const body = useRef<HTMLDivElement>(null);

  const filter = useMemo(() => {
    const and: object[] = [];
    if (status) and.push({ column: 'STATUS', op: 'EQ', value: status });
    if (minConfidence) and.push({ column: 'CONFIDENCE', op: 'GTE', value: Number(minConfidence) });
    return and.length ? { and } : null;
  }, [status, minConfidence]);
  const vars = { f: filter, s: search.trim() || null, o: sort };
  const key = JSON.stringify(vars);

  async function load(after: string | null) {
    setLoading(true);
    try {
      const d = await request(ROWS, { ...vars, after });
      const page = d.lineageGrid;
      setRows((r) => (after ? [...r, ...page.edges.map((e) => e.node)] : page.edges.map((e) => e.node)));
      setTotal(page.totalCount);
      setCursor(page.pageInfo.endCursor ?? null);
      setMore(page.pageInfo.hasNextPage);
      setError(null);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    const t = setTimeout(() => void load(null), 200);
    body.current?.scrollTo({ top: 0 });
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  // Only the rows in view are rendered; the next page loads near the end.
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - 5);
  const last = Math.min(rows.length, first + Math.ceil(VIEW_HEIGHT / ROW_HEIGHT) + 10);
  useEffect(() => {
    if (more && !loading && last >= rows.length - 10) void load(cursor);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [last, more, loading]);

  async function exportAs(format: 'CSV' | 'JSON' | 'PARQUET' | 'SQL') {
    try {
      const d = await request(EXPORT, { format, f: filter, s: vars.s });
      setExported({ ...d.exportLineage, format });
    } catch (e) {
      setError(e as ApiError);
    }
  }
  function sortBy(column: LineageColumn) {
    setSort((s) => ({ column, direction: s.column === column && s.direction === 'ASC' ? 'DESC' : 'ASC' }));
  }

  return (
    <Page
      title="Lineage grid"
      actions={(['CSV', 'JSON', 'PARQUET', 'SQL'] as const).map((f) => (
        <button key={f} type="button" onClick={() => exportAs(f)}>
          Export {f}
        </button>
      ))}
    >
      <div className="card row" role="search">
        <label>
          Search
          <input value={search} onChange={(e) => setSearch(e.target.value)} placeholder="e.g. annual rev" />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            <option>ACTIVE</option>
            <option>PENDING_REVIEW</option>
            <option>FAILED</option>
            <option>DEPRECATED</option>
          </select>
        </label>
        <label>
          Confidence at least
          <input type="number" min="0" max="1" step="0.05" value={minConfidence} onChange={(e) => setMinConfidence(e.target.value)} />
        </label>
        <span className="muted" aria-live="polite">
          {total == null ? '' : `${total} mappings`}
        </span>
      </div>
      {exported && (
        <p className="card" data-testid="export-link">
          {exported.format} export of {exported.rows} rows ready:{' '}
          <a href={exported.url} download>
            download
          </a>
        </p>
      )}
      {error && <ErrorBox error={error} retry={() => load(null)} />}
      {loading && rows.length === 0 && <Loading what="mappings" />}
      <div className="grid" role="table" aria-rowcount={total ?? undefined} aria-label="Mappings">
        <div className="grid-row grid-head" role="row">
          {COLUMNS.map(([col, label]) => (
            <button
              key={col}
              type="button"
              role="columnheader"
              aria-sort={sort.column === col ? (sort.direction === 'ASC' ? 'ascending' : 'descending') : 'none'}
              onClick={() => sortBy(col)}
            >
              {label}
              {sort.column === col ? (sort.direction === 'ASC' ? ' ▲' : ' ▼') : ''}
            </button>
          ))}
        </div>
        <div className="grid-body" ref={body} style={{ height: VIEW_HEIGHT }} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
          <div style={{ height: rows.length * ROW_HEIGHT, position: 'relative' }}>
            {rows.slice(first, last).map((r, i) => (
              <div
                key={r.id}
                className="grid-row"
                role="row"
                style={{ position: 'absolute', top: (first + i) * ROW_HEIGHT, height: ROW_HEIGHT, left: 0, right: 0 }}
              >
                {COLUMNS.map(([col, , cell]) => (
                  <span key={col} role="cell">
                    {cell(r)}
                  </span>
                ))}
              </div>
            ))}
          </div>
          {!loading && rows.length === 0 && !error && <p className="muted">No mappings match.</p>}
        </div>
      </div>
    </Page>
  );
}

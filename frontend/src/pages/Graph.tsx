import { useState } from 'react';
import { graphql } from '../gql';
import type { GraphQuery } from '../gql/graphql';
import { ApiError, request } from '../api';
import { useQuery } from '../hooks';
import { ErrorBox, Loading, Page } from '../ui';
import { ConnectorPicker } from './ConnectorPicker';

const GRAPH = graphql(`
  query Graph($root: String!) {
    lineageGraph(rootId: $root, direction: DOWNSTREAM, depth: 4) {
      truncated
      nodes { id kind name }
      edges { source target weight }
    }
  }
`);
const IMPACT = graphql(`
  query Impact($id: String!) { lineageImpact(sourceFieldId: $id) { sourceFieldId canonicalFields records } }
`);

const COLUMNS = ['CONNECTOR', 'SOURCE_ENTITY', 'SOURCE_FIELD', 'CANONICAL_FIELD', 'CANONICAL_ENTITY', 'CONSUMER'];
const WIDTH = 1100;
const NODE_W = 12;

type G = GraphQuery['lineageGraph'];

/** A Sankey layout: one column per node kind, node height by flow, ribbons by edge weight. */
function layout(g: G, height: number) {
  const inflow = new Map<string, number>();
  const outflow = new Map<string, number>();
  for (const e of g.edges) {
    outflow.set(e.source, (outflow.get(e.source) ?? 0) + e.weight);
    inflow.set(e.target, (inflow.get(e.target) ?? 0) + e.weight);
  }
  const value = (id: string) => Math.max(inflow.get(id) ?? 0, outflow.get(id) ?? 0, 1);
  const cols = COLUMNS.map((k) => g.nodes.filter((n) => n.kind === k)).filter((c) => c.length > 0);
  const gap = 6;
  const scale = Math.min(
    ...cols.map((c) => (height - gap * (c.length - 1)) / c.reduce((s, n) => s + value(n.id), 0)),
  );
  const pos = new Map<string, { x: number; y: number; h: number; outY: number; inY: number }>();
  const step = cols.length > 1 ? (WIDTH - 220) / (cols.length - 1) : 0;
  cols.forEach((c, ci) => {
    let y = 0;
    for (const n of c) {
      const h = Math.max(2, value(n.id) * scale);
      pos.set(n.id, { x: 10 + ci * step, y, h, outY: y, inY: y });
      y += h + gap;
    }
  });
  const links = g.edges.flatMap((e) => {
    const s = pos.get(e.source);
    const t = pos.get(e.target);
    if (!s || !t) return [];
    const w = Math.max(1, e.weight * scale);
    const y0 = s.outY + w / 2;
    const y1 = t.inY + w / 2;
    s.outY += w;
    t.inY += w;
    const x0 = s.x + NODE_W;
    const x1 = t.x;
    const mx = (x0 + x1) / 2;
    return [{ key: `${e.source}>${e.target}`, d: `M${x0},${y0} C${mx},${y0} ${mx},${y1} ${x1},${y1}`, w }];
  });
  return { pos, links };
}

export function Graph() {
  const [connector, setConnector] = useState('');
  return (
    <Page title="Lineage graph" actions={<ConnectorPicker value={connector} onChange={setConnector} />}>
      {connector && <GraphOf connector={connector} />}
    </Page>
  );
}

function GraphOf({ connector }: { connector: string }) {
  const graph = useQuery(GRAPH, { root: `connector:${connector}` }, connector);
  const [impact, setImpact] = useState<{ name: string; canonicalFields: string[]; records: number } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  if (graph.loading && !graph.data) return <Loading what="the graph" />;
  if (graph.error) return <ErrorBox error={graph.error} retry={graph.reload} />;
  const g = graph.data?.lineageGraph;
  if (!g) return null;
  if (g.edges.length === 0) return <p className="muted">Nothing flows from this connector yet: sync it and approve some mappings.</p>;
  const height = Math.max(300, Math.min(1600, g.nodes.length * 22));
  const { pos, links } = layout(g, height);

  async function showImpact(id: string, name: string) {
    setError(null);
    try {
      const d = await request(IMPACT, { id });
      setImpact({ name, ...d.lineageImpact });
    } catch (e) {
      setError(e as ApiError);
    }
  }

  return (
    <div className="graph-wrap">
      {g.truncated && <p className="muted">The graph was cut at its size limit.</p>}
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="group" aria-label="Sankey diagram of the connector's lineage" className="sankey">
        {links.map((l) => (
          <path key={l.key} d={l.d} strokeWidth={l.w} className="link" />
        ))}
        {g.nodes.map((n) => {
          const p = pos.get(n.id);
          if (!p) return null;
          const clickable = n.kind === 'SOURCE_FIELD';
          return (
            <g
              key={n.id}
              className={`node kind-${n.kind.toLowerCase()}${clickable ? ' clickable' : ''}`}
              onClick={clickable ? () => showImpact(n.id, n.name) : undefined}
              role={clickable ? 'button' : undefined}
              tabIndex={clickable ? 0 : undefined}
              aria-label={clickable ? `Impact of ${n.name}` : undefined}
              onKeyDown={clickable ? (e) => e.key === 'Enter' && showImpact(n.id, n.name) : undefined}
            >
              <rect x={p.x} y={p.y} width={NODE_W} height={p.h} />
              <text x={p.x + NODE_W + 4} y={p.y + p.h / 2} dominantBaseline="middle">
                {n.name}
              </text>
            </g>
          );
        })}
      </svg>
      {error && <ErrorBox error={error} />}
      {impact && (
        <aside className="card" data-testid="impact">
          <h2>Impact of {impact.name}</h2>
          <p>
            Feeds {impact.canonicalFields.join(', ') || 'nothing'}; {impact.records} records hold its values.
          </p>
        </aside>
      )}
    </div>
  );
}

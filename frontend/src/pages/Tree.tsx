import { useState } from 'react';
import { graphql } from '../gql';
import type { TreeQuery } from '../gql/graphql';
import { useQuery } from '../hooks';
import { confidenceClass, ErrorBox, Loading, Page } from '../ui';
import { ConnectorPicker } from './ConnectorPicker';

const TREE = graphql(`
  query Tree($c: ID!) {
    lineageTree(connectorId: $c, depth: 4) {
      id kind name counts { fields mapped pendingReview unmapped }
      children { id kind name confidence status counts { fields mapped pendingReview unmapped }
        children { id kind name confidence status counts { fields mapped pendingReview unmapped }
          children { id kind name confidence status } } }
    }
  }
`);

type Node = {
  id: string;
  kind: string;
  name: string;
  confidence?: number | null;
  status?: string | null;
  counts?: { fields: number; mapped: number; pendingReview: number; unmapped: number };
  children?: Node[];
};

function TreeNode({ node, level }: { node: Node; level: number }) {
  const [open, setOpen] = useState(level < 3);
  const kids = node.children ?? [];
  return (
    <li role="treeitem" aria-expanded={kids.length ? open : undefined} aria-level={level}>
      <div className="tree-node">
        {kids.length > 0 ? (
          <button type="button" className="ghost toggle" onClick={() => setOpen(!open)} aria-label={open ? 'Collapse' : 'Expand'}>
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span className="toggle" />
        )}
        <span className={`dot ${confidenceClass(node.confidence)}`} aria-hidden />
        <span>{node.name}</span>
        <span className="muted small">{node.kind.toLowerCase().replace('_', ' ')}</span>
        {node.confidence != null && <span className="muted small">{Math.round(node.confidence * 100)}%</span>}
        {node.status && <span className="muted small">{node.status}</span>}
        {node.counts && (
          <span className="muted small">
            {node.counts.mapped}/{node.counts.fields} mapped · {node.counts.pendingReview} to review
          </span>
        )}
      </div>
      {open && kids.length > 0 && (
        <ul role="group">
          {kids.map((k) => (
            <TreeNode key={k.id} node={k} level={level + 1} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function Tree() {
  const [connector, setConnector] = useState('');
  return (
    <Page title="Lineage tree" actions={<ConnectorPicker value={connector} onChange={setConnector} />}>
      <p className="muted">
        Confidence: <span className="badge conf-high">&gt; 90%</span> <span className="badge conf-mid">70–90%</span>{' '}
        <span className="badge conf-low">&lt; 70%</span>
      </p>
      {connector && <TreeOf connector={connector} />}
    </Page>
  );
}

function TreeOf({ connector }: { connector: string }) {
  const tree = useQuery(TREE, { c: connector }, connector);
  if (tree.loading && !tree.data) return <Loading what="the tree" />;
  if (tree.error) return <ErrorBox error={tree.error} retry={tree.reload} />;
  const root = tree.data?.lineageTree as TreeQuery['lineageTree'] | undefined;
  if (!root) return null;
  return (
    <ul className="tree" role="tree" aria-label="Connector lineage">
      <TreeNode node={root as Node} level={1} />
    </ul>
  );
}

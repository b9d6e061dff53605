import { graphql } from '../gql';
import { useQuery } from '../hooks';
import { ErrorBox, Loading } from '../ui';

const LIST = graphql(`
  query ConnectorNames { connectors(first: 100) { edges { node { id name } } } }
`);

/** Picks one of the tenant's connectors (the first one by default). */
export function ConnectorPicker({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const list = useQuery(LIST, {}, 'connector-names');
  if (list.loading && !list.data) return <Loading what="connectors" />;
  if (list.error) return <ErrorBox error={list.error} retry={list.reload} />;
  const nodes = list.data?.connectors.edges.map((e) => e.node) ?? [];
  if (nodes.length === 0) return <p className="muted">No connectors yet: create one on the Connectors page.</p>;
  if (!value && nodes[0]) queueMicrotask(() => onChange(nodes[0].id));
  return (
    <label>
      Connector{' '}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        {nodes.map((n) => (
          <option key={n.id} value={n.id}>
            {n.name}
          </option>
        ))}
      </select>
    </label>
  );
}

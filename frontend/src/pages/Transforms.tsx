import { useEffect, useState } from 'react';
import { graphql } from '../gql';
import { ApiError, request } from '../api';
import { useQuery } from '../hooks';
import { ErrorBox, Loading, Page } from '../ui';

const MAPPINGS = graphql(`
  query TransformMappings {
    mappings(first: 40) {
      edges { node { id connectorId sourceSystem sourceEntity sourceField canonicalEntity canonicalField
        mappingType version activeVersion { transform } } }
    }
    connectors(first: 100) { edges { node { id name } } }
  }
`);
const PREVIEW = graphql(`
  query PreviewSteps($i: PreviewTransformInput!) { previewTransform(input: $i) { before after error } }
`);
const SAVE = graphql(`
  mutation SaveTransform($id: ID!, $i: UpdateMappingInput!) { updateMapping(id: $id, input: $i) { id version } }
`);
const APPROVE = graphql(`
  mutation ApproveTransform($id: ID!) { approveMapping(id: $id) { id version status } }
`);

const EXAMPLE = '[\n  { "op": "trim" },\n  { "op": "case", "to": "title" }\n]';

/** A mapping's transform steps, previewed on the connector's sample values, then saved. */
export function Transforms() {
  const mappings = useQuery(MAPPINGS, {}, 'transform-mappings');
  const [id, setId] = useState('');
  const [steps, setSteps] = useState(EXAMPLE);
  const [preview, setPreview] = useState<{ before: string; after?: unknown; error?: string | null }[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  // A mapping names its source system (the connector's name); its samples are the connector's.
  const connectorOf = new Map((mappings.data?.connectors.edges ?? []).map((e) => [e.node.name, e.node.id]));
  const list = (mappings.data?.mappings.edges.map((e) => e.node) ?? [])
    .map((m) => ({ ...m, connectorId: m.connectorId ?? connectorOf.get(m.sourceSystem) ?? null }))
    .filter((m) => m.connectorId);
  const m = list.find((x) => x.id === id);
  useEffect(() => {
    const current = m?.activeVersion?.transform as { steps?: unknown } | null | undefined;
    setSteps(current?.steps ? JSON.stringify(current.steps, null, 2) : EXAMPLE);
    setPreview(null);
    setSaved(null);
  }, [m?.id]);

  function transform(): unknown {
    try {
      return { steps: JSON.parse(steps) };
    } catch {
      throw new ApiError('The steps are not JSON (a list of steps, e.g. [{ "op": "trim" }]).', 'BAD_USER_INPUT');
    }
  }
  async function run(save: boolean) {
    if (!m) return;
    setError(null);
    setSaved(null);
    try {
      const t = transform();
      if (save) {
        const input = { canonicalEntity: m.canonicalEntity, canonicalField: m.canonicalField, mappingType: 'TRANSFORMED' as const, transform: t };
        const next = await request(SAVE, { id: m.id, i: input });
        const approved = await request(APPROVE, { id: next.updateMapping.id });
        setSaved(`Saved as version ${approved.approveMapping.version}, ${approved.approveMapping.status.toLowerCase()}.`);
        mappings.reload();
      } else {
        const d = await request(PREVIEW, {
          i: {
            connectorId: m.connectorId!,
            sourceEntity: m.sourceEntity,
            sourceField: m.sourceField,
            canonicalEntity: m.canonicalEntity,
            canonicalField: m.canonicalField,
            transform: t,
          },
        });
        setPreview(d.previewTransform);
      }
    } catch (e) {
      setError(e as ApiError);
    }
  }
  return (
    <Page title="Transforms">
      {mappings.loading && !mappings.data && <Loading what="mappings" />}
      {mappings.error && <ErrorBox error={mappings.error} retry={mappings.reload} />}
      <label>
        Mapping
        <select value={id} onChange={(e) => setId(e.target.value)}>
          <option value="">choose a mapping…</option>
          {list.map((x) => (
            <option key={x.id} value={x.id}>
              {x.sourceSystem}.{x.sourceEntity}.{x.sourceField} → {x.canonicalEntity}.{x.canonicalField}
            </option>
          ))}
        </select>
      </label>
      {m && (
        <>
          <label>
            Steps (JSON)
            <textarea rows={8} value={steps} onChange={(e) => setSteps(e.target.value)} spellCheck={false} />
          </label>
          <p className="muted">
            Steps: trim, case, valueMap, scale, date (formats, timezone), epoch, regex, split, replace, default, concat.
          </p>
          <div className="row inline">
            <button type="button" onClick={() => run(false)}>
              Preview
            </button>
            <button type="button" onClick={() => run(true)}>
              Save and approve
            </button>
          </div>
        </>
      )}
      {error && (
        <div className="error" role="alert">
          <strong>{error.code}</strong> {error.message}
          {error.problems.map((p) => (
            <div key={p.field}>
              {p.field}: {p.message}
            </div>
          ))}
        </div>
      )}
      {saved && <p role="status">{saved}</p>}
      {preview && (
        <div className="table-wrap" tabIndex={0}>
          <table className="table" aria-label="Preview">
            <thead>
              <tr>
                <th>before</th>
                <th>after</th>
                <th>error</th>
              </tr>
            </thead>
            <tbody>
              {preview.map((p, i) => (
                <tr key={i}>
                  <td>{p.before}</td>
                  <td>{p.after == null ? '—' : String(p.after)}</td>
                  <td>{p.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

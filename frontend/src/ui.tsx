// Small shared pieces: loading and error states, confidence colours.
import { Component, type ReactNode } from 'react';
import type { ApiError } from './api';

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error, retry }: { error: ApiError | Error; retry?: () => void }) {
  const code = 'code' in error ? (error as ApiError).code : 'ERROR';
  return (
    <div className="error" role="alert">
      <strong>{code}</strong> {error.message}
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** green > 0.9, amber 0.7–0.9, red < 0.7 */
export function confidenceClass(c: number | null | undefined): string {
  if (c == null) return 'conf-none';
  if (c > 0.9) return 'conf-high';
  if (c >= 0.7) return 'conf-mid';
  return 'conf-low';
}

export function Confidence({ value }: { value: number | null | undefined }) {
  return (
    <span className={`badge ${confidenceClass(value)}`}>
      {value == null ? '—' : `${Math.round(value * 100)}%`}
    </span>
  );
}

export function Page({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-head">
        <h1 id="page-title">{title}</h1>
        <div className="actions">{actions}</div>
      </header>
      {children}
    </section>
  );
}

/** A page that throws while rendering shows what happened instead of a blank screen. */
export class Boundary extends Component<{ children: ReactNode; resetKey: string }, { error: Error | null; key: string }> {
  state = { error: null as Error | null, key: this.props.resetKey };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  static getDerivedStateFromProps(props: { resetKey: string }, state: { error: Error | null; key: string }) {
    return props.resetKey !== state.key ? { error: null, key: props.resetKey } : null;
  }
  render() {
    if (this.state.error) {
      return (
        <div className="error" role="alert">
          <strong>This page failed.</strong> {this.state.error.message}
          <button type="button" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}

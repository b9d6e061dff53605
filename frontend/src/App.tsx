import { useEffect, useState } from 'react';
import { getToken, setToken } from './api';
import { Login } from './pages/Login';
import { Connectors } from './pages/Connectors';
import { Reviews } from './pages/Reviews';
import { Grid } from './pages/Grid';
import { Tree } from './pages/Tree';
import { Graph } from './pages/Graph';
import { Flow } from './pages/Flow';
import { Metrics } from './pages/Metrics';
import { Records } from './pages/Records';
import { RecordView } from './pages/RecordView';
import { Matches } from './pages/Matches';
import { Transforms } from './pages/Transforms';
import { Automation } from './pages/Automation';
import { Webhooks } from './pages/Webhooks';
import { Boundary } from './ui';

const PAGES = [
  ['connectors', 'Connectors', Connectors],
  ['automation', 'Schedules & drift', Automation],
  ['reviews', 'Review queue', Reviews],
  ['records', 'Records', Records],
  ['matches', 'Match review', Matches],
  ['transforms', 'Transforms', Transforms],
  ['grid', 'Lineage grid', Grid],
  ['tree', 'Tree', Tree],
  ['graph', 'Graph', Graph],
  ['flow', 'Flow monitor', Flow],
  ['metrics', 'Metrics', Metrics],
  ['webhooks', 'Webhooks', Webhooks],
] as const;

function route(): string {
  return location.hash.replace(/^#\/?/, '').split('?')[0] || 'connectors';
}

export function App() {
  const [page, setPage] = useState(route());
  const [signedIn, setSignedIn] = useState(!!getToken());
  const [theme, setTheme] = useState<string>(
    localStorage.getItem('autonomos.theme') ??
      (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'),
  );
  useEffect(() => {
    const on = () => setPage(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('autonomos.theme', theme);
  }, [theme]);
  // A rejected token anywhere sends the user back to sign in.
  useEffect(() => {
    const t = setInterval(() => setSignedIn(!!getToken()), 1000);
    return () => clearInterval(t);
  }, []);

  const toggle = (
    <button type="button" className="ghost" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}>
      {theme === 'dark' ? 'Light' : 'Dark'} theme
    </button>
  );
  if (!signedIn) {
    return (
      <div className="shell">
        <header className="top">
          <span className="brand">AutonomOS</span>
          {toggle}
        </header>
        <main>
          <Login onSignedIn={() => setSignedIn(true)} />
        </main>
      </div>
    );
  }
  // A record's own view is reached from the Records page, not the navigation.
  const current = page === 'record' ? (['records', 'Records', RecordView] as const) : (PAGES.find(([id]) => id === page) ?? PAGES[0]);
  const View = current[2];
  return (
    <div className="shell">
      <header className="top">
        <span className="brand">AutonomOS</span>
        <nav aria-label="Pages">
          {PAGES.map(([id, label]) => (
            <a key={id} href={`#/${id}`} aria-current={id === current[0] ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        {toggle}
        <button
          type="button"
          className="ghost"
          onClick={() => {
            setToken(null);
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Boundary resetKey={current[0]}>
          <View />
        </Boundary>
      </main>
    </div>
  );
}

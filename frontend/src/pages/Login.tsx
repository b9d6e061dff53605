import { useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import { ApiError, request, setToken } from '../api';
import { ErrorBox } from '../ui';

const LOGIN = graphql(`
  mutation Login($i: LoginInput!) {
    login(input: $i) { token }
  }
`);
const SIGN_UP = graphql(`
  mutation SignUp($i: SignUpInput!) {
    signUp(input: $i) { token tenant { name } }
  }
`);

export function Login({ onSignedIn }: { onSignedIn: () => void }) {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [tenantName, setTenantName] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const token =
        mode === 'login'
          ? (await request(LOGIN, { i: { email, password } })).login.token
          : (await request(SIGN_UP, { i: { email, password, tenantName } })).signUp.token;
      setToken(token);
      onSignedIn();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card narrow" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">{mode === 'login' ? 'Sign in' : 'Create your workspace'}</h1>
      {mode === 'signup' && (
        <label>
          Company
          <input value={tenantName} onChange={(e) => setTenantName(e.target.value)} required autoComplete="organization" />
        </label>
      )}
      <label>
        Email
        <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="email" />
      </label>
      <label>
        Password
        <input
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
          minLength={12}
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
        />
      </label>
      {error && <ErrorBox error={error} />}
      <button type="submit" disabled={busy}>
        {busy ? 'Working…' : mode === 'login' ? 'Sign in' : 'Sign up'}
      </button>
      <button type="button" className="link" onClick={() => setMode(mode === 'login' ? 'signup' : 'login')}>
        {mode === 'login' ? 'New here? Create a workspace' : 'Have an account? Sign in'}
      </button>
    </form>
  );
}

import { useState, type FormEvent } from "react";
import { api, tokenStore, type Schemas } from "../api/client";
import { ErrorNote } from "../components/common";

/** Password login (the server sets a session cookie) or an API token (kept in this browser); `next`: where a password login goes on to. */
export function Login({ onLogin, next }: { onLogin: (user: Schemas["UserOut"]) => void; next?: string | null }) {
  const [mode, setMode] = useState<"password" | "token">("password");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === "password") {
        tokenStore.set(null);
        const out = await api("login", { body: { username, password } });
        onLogin(out.user);
      } else {
        tokenStore.set(token.trim());
        onLogin(await api("whoami"));
      }
    } catch (err) {
      if (mode === "token") tokenStore.set(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="login">
      <h1>Headwater</h1>
      {next ? (
        <p className="muted">
          Log in to go on to <code>{next}</code>.
        </p>
      ) : null}
      <form onSubmit={submit} aria-label="Log in">
        <fieldset className="choice">
          <legend>Log in with</legend>
          <label>
            <input type="radio" name="mode" checked={mode === "password"} onChange={() => setMode("password")} />
            Password
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === "token"} onChange={() => setMode("token")} />
            API token
          </label>
        </fieldset>
        {mode === "password" ? (
          <>
            <label>
              Username
              <input autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
            </label>
            <label>
              Password
              <input
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </label>
          </>
        ) : (
          <label>
            API token
            <input
              type="password"
              required
              value={token}
              onChange={(e) => setToken(e.target.value)}
              placeholder="hw_…"
            />
          </label>
        )}
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}

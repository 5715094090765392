import { useEffect, useState } from "react";
import { useGetIdentity, useOnError, usePermissions } from "@refinedev/core";
import type { BrokerPermissions, BrokerUser, SessionInfo } from "@socialbroker/client";
import { storageMeaning } from "../auth";
import { useAuth } from "../context";
import { Avatar } from "../ui";

const providerLabel = (p: string) => ({ github: "GitHub", google: "Google" })[p] ?? p;

interface Report {
  id: string;
  title: string;
  owner: string;
  value: string;
}

export function Dashboard() {
  const { data: user, isLoading } = useGetIdentity<BrokerUser>();
  const { data: perms } = usePermissions<BrokerPermissions>({});

  return (
    <div className="grid">
      <section className="card identity" aria-labelledby="identity-title">
        <h2 id="identity-title" className="card-title">
          Signed in
        </h2>
        {isLoading || !user ? (
          <p className="muted">Loading your profile…</p>
        ) : (
          <div className="identity-body">
            <Avatar user={user} size={56} />
            <div>
              <p className="identity-name" data-testid="identity-name">
                {user.name || user.email}
              </p>
              <p className="muted" data-testid="identity-email">
                {user.email}
                {user.emailVerified && <span className="badge badge-ok">verified</span>}
              </p>
              <ul className="chips" aria-label="Roles" data-testid="roles">
                {user.roles.map((r) => (
                  <li key={r} className="chip">
                    {r}
                  </li>
                ))}
              </ul>
            </div>
          </div>
        )}
        {user && user.identities.length > 0 && (
          <dl className="identities">
            {user.identities.map((i) => (
              <div key={i.provider + i.subject}>
                <dt>{providerLabel(i.provider)}</dt>
                <dd>{i.username ? `@${i.username}` : i.email || i.subject}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>

      <section className="card" aria-labelledby="perms-title">
        <h2 id="perms-title" className="card-title">
          Permissions
        </h2>
        {perms ? (
          <ul className="chips" data-testid="permissions">
            {perms.permissions.length === 0 && <li className="muted">none</li>}
            {perms.permissions.map((p) => (
              <li key={p} className="chip chip-outline">
                {p}
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </section>

      <Reports />
      <Parallel />
      <Session />
    </div>
  );
}

function Reports() {
  const { api } = useAuth();
  const { mutate: onError } = useOnError();
  const [state, setState] = useState<{ status: "idle" | "loading" | "ok" | "error"; reports?: Report[]; error?: string }>({ status: "idle" });
  const load = async () => {
    setState({ status: "loading" });
    try {
      const res = await api.get<{ reports: Report[] }>("/reports");
      setState({ status: "ok", reports: res.data.reports });
    } catch (e) {
      setState({ status: "error", error: e instanceof Error ? e.message : String(e) });
      onError(e); // Refine's auth provider: a 401 the client could not cure signs out
    }
  };
  return (
    <section className="card wide" aria-labelledby="reports-title">
      <div className="card-head">
        <h2 id="reports-title" className="card-title">
          Reports <span className="muted small">GET /api/reports through axios</span>
        </h2>
        <button type="button" className="btn btn-primary" onClick={load} disabled={state.status === "loading"}>
          {state.status === "loading" ? "Loading…" : "Load reports"}
        </button>
      </div>
      <p className="sr-only" data-testid="reports-status" aria-live="polite">
        {state.status}
      </p>
      {state.status === "error" && <p className="error">{state.error}</p>}
      {state.reports && (
        <table className="table">
          <thead>
            <tr>
              <th>Report</th>
              <th>Team</th>
              <th className="num">Value</th>
            </tr>
          </thead>
          <tbody>
            {state.reports.map((r) => (
              <tr key={r.id}>
                <td>{r.title}</td>
                <td>{r.owner}</td>
                <td className="num">{r.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {state.status === "idle" && <p className="muted">The API checks your access token with the broker on every call.</p>}
    </section>
  );
}

// Fires several requests at once: after the access token expires they all
// wait for a single refresh.
function Parallel() {
  const { api } = useAuth();
  const [result, setResult] = useState<string>("");
  const [busy, setBusy] = useState(false);
  const [runs, setRuns] = useState(0);
  const run = async () => {
    setBusy(true);
    const started = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => api.get("/reports")));
    const ok = settled.filter((s) => s.status === "fulfilled").length;
    const n = runs + 1;
    setRuns(n);
    setResult(`Run ${n}: ${ok}/5 succeeded in ${Math.round(performance.now() - started)} ms`);
    setBusy(false);
  };
  return (
    <section className="card" aria-labelledby="parallel-title">
      <h2 id="parallel-title" className="card-title">
        Parallel requests
      </h2>
      <p className="muted">Five API calls at once. With an expired token they share one refresh.</p>
      <button type="button" className="btn btn-secondary spaced" onClick={run} disabled={busy}>
        Send 5 requests
      </button>
      <p className="result" data-testid="parallel-result" aria-live="polite">
        {result}
      </p>
    </section>
  );
}

function Session() {
  const { client, config } = useAuth();
  const [info, setInfo] = useState<SessionInfo | null>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    void client.session().then(setInfo);
    const off = client.subscribe((e) => {
      if (e.type === "signedOut") setInfo(null);
      else setInfo(e.session);
    });
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      off();
      clearInterval(t);
    };
  }, [client]);
  // Whole seconds, rounded up: "0" only once the token is really due.
  const left = info ? Math.max(0, Math.ceil((info.expiresAt - now) / 1000)) : 0;
  return (
    <section className="card span-2" aria-labelledby="session-title">
      <h2 id="session-title" className="card-title">
        Session
      </h2>
      <dl className="facts facts-row">
        <div>
          <dt>Refresh token</dt>
          <dd data-testid="session-mode">{info ? (info.mode === "cookie" ? "HttpOnly cookie" : kept[config.storage]) : "—"}</dd>
        </div>
        <div>
          <dt>Access token</dt>
          <dd>{info ? (left > 0 ? `refreshes in ${left}s` : "refreshes on next call") : "—"}</dd>
        </div>
        <div>
          <dt>Tenant</dt>
          <dd>
            <code>{config.clientId}</code>
          </dd>
        </div>
      </dl>
      {info && (
        <p className="muted small spaced" data-testid="session-storage">
          {storageMeaning(config.storage, info.mode === "cookie")}
        </p>
      )}
    </section>
  );
}

const kept = { memory: "in memory", sessionStorage: "in sessionStorage", localStorage: "in localStorage" } as const;

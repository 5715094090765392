import { useEffect, useState } from "react";
import { useInvalidateAuthStore } from "@refinedev/core";
import { Link, useNavigate } from "react-router";
import { useAuth } from "../context";

// Only a path of this app: never an absolute URL (open redirect).
const safePath = (p: string | undefined) => (p && p.startsWith("/") && !p.startsWith("//") ? p : "/");

export function CallbackPage() {
  const { client } = useAuth();
  const navigate = useNavigate();
  const invalidate = useInvalidateAuthStore();
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    client
      .handleCallback(window.location.href)
      .then(async ({ returnTo }) => {
        await invalidate();
        if (live) navigate(safePath(returnTo), { replace: true });
      })
      .catch((e: unknown) => {
        if (live) setError(e instanceof Error ? e.message : String(e));
      });
    return () => {
      live = false;
    };
  }, [client, navigate, invalidate]);

  if (error) {
    return (
      <main className="login">
        <section className="card login-card" role="alert">
          <h1>Sign-in failed</h1>
          <p className="muted">{error}</p>
          <Link className="btn btn-primary" to="/login">
            Back to sign in
          </Link>
        </section>
      </main>
    );
  }
  return (
    <div className="splash" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Signing you in…
    </div>
  );
}

import { useLogin } from "@refinedev/core";
import type { BrokerLoginParams } from "@socialbroker/client/refine";
import { useSearchParams } from "react-router";
import { loginNote } from "../auth";
import { useAuth } from "../context";
import { GitHubIcon, GoogleIcon, Logo } from "../ui";

const reasons: Record<string, string> = {
  "other-tab": "You signed out in another tab.",
  expired: "Your session has ended. Please sign in again.",
  revoked: "Your session was ended. Please sign in again.",
};

export function LoginPage() {
  const { config } = useAuth();
  const [params] = useSearchParams();
  const { mutate: login, isPending, variables } = useLogin<BrokerLoginParams>();
  const to = params.get("to") ?? undefined;
  const notice = reasons[params.get("reason") ?? ""];
  const signIn = (providerName: string) => login(to ? { providerName, redirectTo: to } : { providerName });

  return (
    <main className="login">
      <section className="card login-card" aria-labelledby="login-title">
        <div className="brand brand-lg">
          <Logo /> <span>Acme Admin</span>
        </div>
        <h1 id="login-title">Sign in</h1>
        <p className="muted">Use your company account. You will be sent to the identity provider and straight back.</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <div className="providers">
          <button type="button" className="btn btn-provider" onClick={() => signIn("google")} disabled={isPending}>
            <GoogleIcon />
            <span>{isPending && variables?.providerName === "google" ? "Redirecting…" : "Sign in with Google"}</span>
          </button>
          <button type="button" className="btn btn-provider btn-github" onClick={() => signIn("github")} disabled={isPending}>
            <GitHubIcon />
            <span>{isPending && variables?.providerName === "github" ? "Redirecting…" : "Sign in with GitHub"}</span>
          </button>
        </div>
        <p className="fine" data-testid="storage-note">
          {loginNote(config.storage)}
        </p>
        <p className="fine">
          Tenant <code>{config.clientId}</code> · broker <code>{config.brokerUrl.replace(/^https?:\/\//, "")}</code>
        </p>
      </section>
    </main>
  );
}

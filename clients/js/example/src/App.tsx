import { useEffect } from "react";
import { Authenticated, Refine } from "@refinedev/core";
import routerProvider, { CatchAllNavigate } from "@refinedev/react-router";
import { BrowserRouter, Navigate, Outlet, Route, Routes, useNavigate } from "react-router";
import type { Auth } from "./auth";
import { AuthContext, useAuth } from "./context";
import { CallbackPage } from "./pages/Callback";
import { Dashboard } from "./pages/Dashboard";
import { LoginPage } from "./pages/Login";
import { Shell } from "./Shell";

export function App({ auth }: { auth: Auth }) {
  return (
    <AuthContext.Provider value={auth}>
      <BrowserRouter>
        <Refine authProvider={auth.authProvider} routerProvider={routerProvider} options={{ disableTelemetry: true }}>
          <SessionWatcher />
          <Routes>
            <Route path="/login" element={<LoginPage />} />
            <Route path="/callback" element={<CallbackPage />} />
            <Route
              element={
                <Authenticated key="app" fallback={<CatchAllNavigate to="/login" />} loading={<Splash />}>
                  <Shell>
                    <Outlet />
                  </Shell>
                </Authenticated>
              }
            >
              <Route index element={<Dashboard />} />
            </Route>
            <Route path="*" element={<Navigate to="/" replace />} />
          </Routes>
        </Refine>
      </BrowserRouter>
    </AuthContext.Provider>
  );
}

// Sends the tab to the login page whenever the session ends: logout here
// or in another tab, a refused refresh, a session revoked at the broker.
// (Refine's auth queries are not invalidated here: that would re-render
// <Authenticated> before the navigation lands and let it redirect first.
// They refetch when a protected page mounts again.)
function SessionWatcher() {
  const { client } = useAuth();
  const navigate = useNavigate();
  useEffect(
    () =>
      client.subscribe((e) => {
        if (e.type !== "signedOut") return;
        navigate(e.reason === "logout" ? "/login" : `/login?reason=${e.reason}`, { replace: true });
      }),
    [client, navigate],
  );
  return null;
}

function Splash() {
  return (
    <div className="splash" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Checking your session…
    </div>
  );
}

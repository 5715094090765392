import type { ReactNode } from "react";
import { useGetIdentity, useLogout } from "@refinedev/core";
import type { BrokerUser } from "@socialbroker/client";
import type { BrokerLogoutParams } from "@socialbroker/client/refine";
import { Avatar, Logo } from "./ui";

export function Shell({ children }: { children: ReactNode }) {
  const { data: user } = useGetIdentity<BrokerUser>();
  const { mutate: logout, isPending } = useLogout<BrokerLogoutParams>();
  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <Logo /> <span>Acme Admin</span>
        </div>
        <div className="topbar-user">
          {user && (
            <span className="who">
              <Avatar user={user} size={28} />
              <span>{user.name || user.email}</span>
            </span>
          )}
          <button type="button" className="btn btn-ghost" onClick={() => logout()} disabled={isPending}>
            Sign out
          </button>
          {/* Single sign-out: the broker's session and every app signed in from it. */}
          <button type="button" className="btn btn-ghost" onClick={() => logout({ everywhere: true })} disabled={isPending}>
            Sign out everywhere
          </button>
        </div>
      </header>
      <main className="content">{children}</main>
    </div>
  );
}

import { createContext, useContext } from "react";
import type { Auth } from "./auth";

export const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error("useAuth outside <App>");
  return a;
}

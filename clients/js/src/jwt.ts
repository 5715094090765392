/**
 * Reads a JWT's payload without verifying it. The client only reads claims
 * of tokens it received straight from the broker's token endpoint over
 * TLS, which OpenID Connect Core §3.1.3.7 allows in place of a signature
 * check; APIs must verify access tokens themselves (JWKS or /auth/check).
 */
export function decodeJwtPayload(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A string claim, or undefined. */
export function claim(token: string | undefined, name: string): string | undefined {
  const v = token ? decodeJwtPayload(token)?.[name] : undefined;
  return typeof v === "string" ? v : undefined;
}

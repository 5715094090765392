function webCrypto(): Crypto {
  const c = globalThis.crypto;
  if (!c?.subtle || !c.getRandomValues) {
    // Web Crypto's subtle API exists only in secure contexts: https, or
    // http://localhost and http://127.0.0.1 during development.
    throw new Error("@socialbroker/client: Web Crypto is unavailable; serve the app over https (or from localhost)");
  }
  return c;
}

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A random URL-safe string carrying `bytes` bytes of entropy. */
export function randomString(bytes = 32): string {
  return base64url(webCrypto().getRandomValues(new Uint8Array(bytes)));
}

/** The PKCE S256 challenge of a verifier (RFC 7636 §4.2). */
export async function s256(verifier: string): Promise<string> {
  const digest = await webCrypto().subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

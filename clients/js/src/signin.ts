// Sign-in: the authorization request (PKCE S256, state, nonce) and the
// callback (state, RFC 9207 iss, code redemption, the ID token's nonce).
// It returns tokens; keeping them is the caller's business.
import { BrokerError } from "./errors.js";
import { errorFrom, num, str, type BrokerHttp } from "./http.js";
import { decodeJwtPayload } from "./jwt.js";
import { randomString, s256 } from "./pkce.js";
import { isInteractionError } from "./silent.js";
import type { StorageLike, TokenSet } from "./storage.js";
import { newTokenSet } from "./tokenset.js";

/** Options for {@link BrokerClient.login}. */
export interface LoginOptions {
  /** A provider name ("google", "github", ...): skips the broker's chooser page. */
  provider?: string;
  /** Where the app should go after the callback; handed back by handleCallback. */
  returnTo?: string;
  /** Passed to the upstream as login_hint. */
  loginHint?: string;
  /**
   * OpenID Connect prompt ("login", "consent", "select_account", "none").
   * With "none" the broker answers from its own session without showing a
   * page; when it cannot (error=login_required or interaction_required)
   * handleCallback resolves signed out with that `error` instead of
   * throwing.
   */
  prompt?: string;
}

/** A completed sign-in. */
export interface SignInResult {
  /** Null when a prompt=none sign-in came back signed out (error says why). */
  tokens: TokenSet | null;
  returnTo?: string;
  /** The broker's error for a prompt=none sign-in that needs the user (login_required, ...). */
  error?: string;
  /** Whether this was a prompt=none sign-in. */
  silent: boolean;
}

export interface SignInOptions {
  http: BrokerHttp;
  redirectUri: string;
  scope: string;
  /** Where this tab keeps its pending sign-ins across the redirect (sessionStorage). */
  pending: StorageLike;
  now: () => number;
}

interface PendingLogin {
  verifier: string;
  nonce: string;
  returnTo?: string;
  createdAt: number;
  /** prompt=none: an answer that needs the user means "signed out", not a failure. */
  silent?: boolean;
}

// A sign-in not completed within this time was abandoned at the identity
// provider; its secrets are dropped when the next one starts.
const PENDING_TTL = 10 * 60 * 1000;

/**
 * The authorization code flow with PKCE for one tenant (the part
 * oidc-client-ts calls OidcClient): builds the authorization URL, keeping
 * the sign-in's secrets in this tab under its state, and completes the
 * callback.
 */
export class SignIn {
  private readonly http: BrokerHttp;
  private readonly issuer: string;
  private readonly clientId: string;

  constructor(private readonly o: SignInOptions) {
    this.http = o.http;
    this.issuer = o.http.issuer;
    this.clientId = o.http.clientId;
  }

  /**
   * Builds the broker's authorization URL and remembers this sign-in's
   * secrets (PKCE verifier, nonce) for the callback, keyed by its state.
   */
  async authorizeUrl(options: LoginOptions = {}): Promise<string> {
    const state = randomString();
    const verifier = randomString(32);
    const nonce = randomString();
    const challenge = await s256(verifier);
    this.dropStale();
    const p: PendingLogin = { verifier, nonce, createdAt: this.o.now() };
    if (options.returnTo !== undefined) p.returnTo = options.returnTo;
    if (options.prompt === "none") p.silent = true;
    this.o.pending.setItem(this.key(state), JSON.stringify(p));
    const q = new URLSearchParams({
      response_type: "code",
      client_id: this.clientId,
      redirect_uri: this.o.redirectUri,
      scope: this.o.scope,
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    if (options.provider) q.set("provider", options.provider);
    if (options.loginHint) q.set("login_hint", options.loginHint);
    if (options.prompt) q.set("prompt", options.prompt);
    return `${this.issuer}/authorize?${q.toString()}`;
  }

  /** Whether url is an answer to an authorization request (a code or an error, and a state). */
  isCallback(url: string): boolean {
    const u = new URL(url);
    return u.searchParams.has("state") && (u.searchParams.has("code") || u.searchParams.has("error"));
  }

  /**
   * Completes a sign-in: checks state (this tab started it, once) and iss
   * (RFC 9207: the answer comes from this broker), redeems the code with
   * the PKCE verifier, checks the ID token's nonce.
   */
  async complete(url: string): Promise<SignInResult> {
    const q = new URL(url).searchParams;
    const state = q.get("state");
    const raw = state ? this.o.pending.getItem(this.key(state)) : null;
    if (!state || !raw) {
      throw new BrokerError("invalid_state", "this sign-in was not started in this tab, or was already completed");
    }
    this.o.pending.removeItem(this.key(state));
    const p = JSON.parse(raw) as PendingLogin;
    // RFC 9207 §2.4: compare iss before using anything else in the response.
    if (q.get("iss") !== this.issuer) {
      throw new BrokerError("invalid_issuer", `the sign-in answer does not come from ${this.issuer}`);
    }
    const silent = p.silent === true;
    const error = q.get("error");
    if (error && silent && isInteractionError(error)) {
      // OpenID Connect Core §3.1.2.6: the broker has no session for this
      // browser (or the app cannot use it without the user): signed out.
      return p.returnTo === undefined ? { tokens: null, error, silent } : { tokens: null, error, silent, returnTo: p.returnTo };
    }
    if (error) throw new BrokerError(error, q.get("error_description") ?? error);
    const code = q.get("code");
    if (!code) throw new BrokerError("invalid_request", "the callback has no code");

    const { res, body } = await this.http.post("/token", {
      form: {
        grant_type: "authorization_code",
        code,
        redirect_uri: this.o.redirectUri,
        client_id: this.clientId,
        code_verifier: p.verifier,
      },
      // A cookie-mode tenant sets its refresh cookie on this answer.
      credentials: true,
    });
    if (!res.ok) throw errorFrom(res, body, "the broker refused the sign-in");
    const accessToken = str(body, "access_token");
    if (!accessToken) throw new BrokerError("server_error", "the token response has no access_token");
    const idToken = str(body, "id_token");
    if (idToken) this.checkIDToken(idToken, p.nonce);
    const tokens = newTokenSet(this.o.now(), {
      accessToken,
      refreshToken: str(body, "refresh_token"),
      idToken,
      expiresIn: num(body, "expires_in"),
      scope: str(body, "scope"),
    });
    return p.returnTo === undefined ? { tokens, silent } : { tokens, silent, returnTo: p.returnTo };
  }

  // OpenID Connect Core §3.1.3.7: the ID token is for this client, from
  // this issuer, and for this sign-in (nonce). Received over TLS straight
  // from the token endpoint, its signature need not be checked.
  private checkIDToken(idToken: string, nonce: string): void {
    const c = decodeJwtPayload(idToken);
    const aud = c?.["aud"];
    const auds = Array.isArray(aud) ? aud : [aud];
    if (!c || c["iss"] !== this.issuer || !auds.includes(this.clientId) || c["nonce"] !== nonce) {
      throw new BrokerError("invalid_id_token", "the ID token was not issued for this sign-in");
    }
  }

  private key(state: string): string {
    return `broker:${this.clientId}:login:${state}`;
  }

  private dropStale(): void {
    const s = this.o.pending;
    if (typeof s.length !== "number" || typeof s.key !== "function") return;
    const prefix = `broker:${this.clientId}:login:`;
    for (let i = s.length - 1; i >= 0; i--) {
      const k = s.key(i);
      if (!k?.startsWith(prefix)) continue;
      try {
        const p = JSON.parse(s.getItem(k) ?? "") as PendingLogin;
        if (this.o.now() - p.createdAt < PENDING_TTL) continue;
      } catch {
        // unreadable: drop it
      }
      s.removeItem(k);
    }
  }
}

/**
 * Error codes a {@link BrokerError} can carry, beside the broker's own
 * OAuth error codes (`access_denied`, `invalid_request`, ...), which are
 * passed through as the broker sent them.
 */
export type BrokerErrorCode =
  /** The session is over (revoked, expired, refresh token reused): sign in again. */
  | "invalid_grant"
  /** There is no session in this browser. */
  | "login_required"
  /** A callback whose state this tab did not issue, or already used (RFC 6749 §10.12). */
  | "invalid_state"
  /** A callback whose `iss` is not this broker (mix-up attack, RFC 9207). */
  | "invalid_issuer"
  /** An ID token that does not belong to this sign-in. */
  | "invalid_id_token"
  /** The broker refused a cookie-mode request as a possible forgery (403). */
  | "forbidden"
  /** The broker could not be reached. */
  | "network_error"
  /** The broker answered with an unexpected status. */
  | "server_error";

/** An error from the broker or from checks the client makes. */
export class BrokerError extends Error {
  override readonly name = "BrokerError";
  /** A {@link BrokerErrorCode} or the broker's OAuth error code. */
  readonly code: string;
  /** The HTTP status, when the broker answered. */
  readonly status: number | undefined;

  constructor(code: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }

  /** True when no refresh can help: the user must sign in again. */
  get sessionEnded(): boolean {
    return this.code === "invalid_grant" || this.code === "login_required";
  }
}

export {
  BrokerClient,
  isTokenExpired,
  isExpiredBody,
  type BrokerClientOptions,
  type BrokerEvent,
  type BrokerPermissions,
  type BrokerUser,
  type CallbackResult,
  type LogoutOptions,
  type LoginOptions,
  type SessionInfo,
  type SignOutReason,
} from "./client.js";
export { BrokerError, type BrokerErrorCode } from "./errors.js";
export { MemoryStorage, WebStorage, MapStorage, type StorageLike, type TokenSet, type TokenStorage } from "./storage.js";
export type { ChannelLike, LockManagerLike } from "./crosstab.js";
export { decodeJwtPayload } from "./jwt.js";

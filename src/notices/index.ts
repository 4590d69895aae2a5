/**
 * Rotation notices, inbound (protocol sections 11 and 12): the HTTPS
 * listener the vault's reset-listener script calls, and the syslog
 * receiver for PAM360's audit stream. Both turn what they hear into a
 * RotationNotice and hand it to a NoticeRecorder (the outbox).
 */
export * from './notice.js';
export * from './notice-errors.js';
export { decodeNoticeBody, NOTICE_BODY_MAX_DEPTH, type DecodedNotice } from './notice-body.js';
export { AddressAllowList, AllowListError, normalizeAddress } from './address-allow-list.js';
export { RateLimiter, type RateLimiterOptions, type RateDecision } from './rate-limiter.js';
export { parseListenAddress, formatListenAddress, ListenAddressError, type ListenAddress } from './listen-address.js';
export {
  loadListenerCertificate,
  ListenerCertificateError,
  MADE_CERT_DIR,
  MADE_CERT_FILE,
  MADE_KEY_FILE,
  type ListenerCertificate,
  type ListenerCertificateOptions,
} from './listener-certificate.js';
export {
  NoticeListener,
  NoticeListenerError,
  NOTICE_PATH,
  NOTICE_BODY_MAX_BYTES,
  DEFAULT_NOTICE_RATE_PER_SECOND,
  DEFAULT_NOTICE_BURST,
  DEFAULT_NOTICE_REQUEST_TIMEOUT_MS,
  DEFAULT_NOTICE_MAX_CONNECTIONS,
  type NoticeListenerOptions,
  type NoticeListenerStats,
} from './notice-listener.js';
export { parseSyslog, type SyslogMessage } from './syslog-message.js';
export { SyslogFramer, SyslogFramingError, type SyslogFramerOptions } from './syslog-framer.js';
export {
  Pam360AuditRecognizer,
  AuditRulesError,
  DEFAULT_AUDIT_PATTERN,
  DEFAULT_RESET_OPERATIONS,
  operationKey,
  type AuditLine,
  type AuditRules,
} from './pam360-audit.js';
export {
  SyslogReceiver,
  SyslogReceiverError,
  DEFAULT_SYSLOG_MAX_MESSAGE_BYTES,
  DEFAULT_SYSLOG_MAX_CONNECTIONS,
  DEFAULT_SYSLOG_IDLE_TIMEOUT_MS,
  DEFAULT_SYSLOG_MAX_PENDING,
  type SyslogReceiverOptions,
  type SyslogReceiverStats,
  type SyslogSource,
} from './syslog-receiver.js';
export { bsdTimeToUtcMs, wallTimeToUtcMs, validWallTime, checkTimeZone, type WallTime } from './vault-time.js';

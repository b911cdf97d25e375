import { format } from 'node:util'

/**
 * Every error seraph reports to an operator, in one table. The message is a
 * `util.format` template; docs/Reference/errors.md documents each code (test/errors.test.ts checks it).
 */
export const errorMessages = {
  SERAPH_ERR_UNKNOWN_OPTION: 'unknown option %s (see --help)',
  SERAPH_ERR_MISSING_VALUE: '%s needs a value',
  SERAPH_ERR_UNEXPECTED_ARGUMENT: 'unexpected argument "%s" (options start with --)',
  SERAPH_ERR_INVALID_NUMBER: '%s must be a whole number from %d to %d, got "%s"',
  SERAPH_ERR_INVALID_DURATION: '%s must be a duration such as 500ms, 10s or 2m, got "%s"',
  SERAPH_ERR_INVALID_CHOICE: '%s must be one of %s, got "%s"',
  SERAPH_ERR_TIMEOUT_ORDER: '%s must not be longer than %s',
  SERAPH_ERR_ROOT_NOT_FOUND: '%s %s: no such directory',
  SERAPH_ERR_ROOT_NOT_DIRECTORY: '%s %s: not a directory',
  SERAPH_ERR_ROOT_UNREADABLE: '%s %s: permission denied',
  SERAPH_ERR_CERT_PAIR_INCOMPLETE: '%s is set but %s is not: give both the certificate and its key',
  SERAPH_ERR_CERT_UNREADABLE: '%s %s: cannot read the file (%s)',
  SERAPH_ERR_CERT_INVALID: '%s %s: not a PEM certificate',
  SERAPH_ERR_KEY_INVALID: '%s %s: not an unencrypted PEM private key',
  SERAPH_ERR_CERT_MISMATCH: '%s %s does not belong to the certificate in %s',
  SERAPH_ERR_CERT_EXPIRED: '%s %s expired on %s',
  SERAPH_ERR_CERT_NOT_YET_VALID: '%s %s is not valid before %s',
  SERAPH_ERR_TICKET_KEY_UNREADABLE: '--ticket-key-file %s: cannot read the file (%s)',
  SERAPH_ERR_RELOAD_ADDRESS_CHANGED: '%s cannot change on reload (%s, was %s); restart seraph instead',
  SERAPH_ERR_TICKET_KEY_INVALID: '--ticket-key-file %s: holds %d bytes, expected %d (make one with: openssl rand 48 > ticket.key)',
  SERAPH_ERR_DEV_CERT_FAILED: 'cannot create the development certificate in %s: %s',
  SERAPH_ERR_PORT_IN_USE: '%s %d: address %s is already in use',
  SERAPH_ERR_PORT_PERMISSION: '%s %d: no permission to listen on %s (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
  SERAPH_ERR_HOST_UNAVAILABLE: '--host %s: this address is not available on this machine',
  SERAPH_ERR_LISTEN_FAILED: '%s %d: cannot listen on %s (%s)',
  SERAPH_ERR_ADMIN_LISTEN_FAILED: '--admin-port %d: cannot listen on 127.0.0.1 (%s)',
  SERAPH_ERR_WORKER_START: 'worker %d could not start: %s',
  SERAPH_ERR_CRASH_LOOP: 'workers keep dying at start-up: %d failed in a row, the last %s',
  SERAPH_ERR_DOMAIN_INVALID: '%s "%s": not a domain name or IP address a certificate authority can issue for (like example.org or 203.0.113.7: no wildcard, no empty name)',
  SERAPH_ERR_ACME_DIRECTORY_INVALID: '%s "%s": not an http(s) URL',
  SERAPH_ERR_ACME_EMAIL_INVALID: '%s "%s": not an e-mail address',
  SERAPH_ERR_ACME_HTTP01_NEEDS_REDIRECT: '%s http-01 needs --redirect-port (the challenge is answered there); use tls-alpn-01 without it',
  SERAPH_ERR_ACME_PROFILE_UNKNOWN: '--acme-profile "%s": the certificate authority at %s does not offer it; it offers %s',
  SERAPH_ERR_STATE_DIR: '--state-dir %s: cannot use it (%s)',
  SERAPH_ERR_STATE_HOME: 'no directory for seraph\'s state: XDG_STATE_HOME is unset or not an absolute path, and HOME is %s; set either to an absolute path, or pass %s',
  SERAPH_ERR_TRUSTED_PROXY_INVALID: '%s "%s": not an IP address or CIDR block (like 10.0.0.0/8 or 2001:db8::/32)',
  SERAPH_ERR_PROXY_PROTOCOL_INCOMPLETE: '%s needs %s: a PROXY header is only believed from a trusted proxy',
  SERAPH_ERR_STORE_URL_INVALID: '%s "%s": not a Redis URL (redis://[user:pass@]host:port/db or rediss://…)',
  SERAPH_ERR_STORE_INCOMPLETE: '%s needs %s: everything seraph shares is encrypted with that key',
  SERAPH_ERR_STORE_KEY_UNREADABLE: '%s %s: cannot read the file (%s)',
  SERAPH_ERR_STORE_KEY_INVALID: '%s %s: holds %d bytes, expected 32 bytes or 64 hex digits (make one with: openssl rand 32 > store.key)',
  SERAPH_ERR_USER_UNKNOWN: '%s %s: no such user on this machine',
  SERAPH_ERR_GROUP_UNKNOWN: '%s %s: no such group on this machine',
  SERAPH_ERR_USER_NEEDS_ROOT: '%s %s: only root can run the workers as another account (seraph runs as uid %d); leave it out, or start seraph as root',
  SERAPH_ERR_USER_CANNOT_READ: 'the workers run as %s, who cannot read %s (%s): make it readable to them (chmod o+rX, or --group), or choose another --user',
  SERAPH_ERR_SOCKET_ACTIVATION: '%s="%s": %s (systemd socket activation)',
  SERAPH_ERR_TLS_CIPHERS_INVALID: '%s "%s": OpenSSL selects no cipher with it (%s); `openssl ciphers -v ALL` lists the names',
  SERAPH_ERR_TLS_GROUP_UNKNOWN: '%s "%s": not a key exchange group of this OpenSSL (%s), which offers %s'
} as const

export type SeraphErrorCode = keyof typeof errorMessages

/** An error caused by the operator's input or environment: reported as one line, never with a stack. */
export class SeraphError extends Error {
  readonly code: SeraphErrorCode

  constructor (code: SeraphErrorCode, ...args: unknown[]) {
    super(format(errorMessages[code], ...args))
    this.name = 'SeraphError'
    this.code = code
  }

  /** The single line printed on stderr before a non-zero exit. */
  toLine (): string {
    return `seraph: ${this.message} [${this.code}]`
  }
}

export function isSeraphError (value: unknown): value is SeraphError {
  return value instanceof SeraphError
}

export function isSeraphErrorCode (value: unknown): value is SeraphErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorMessages, value)
}

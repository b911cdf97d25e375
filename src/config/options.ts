import { availableParallelism } from 'node:os'
import { defaultLimits, logLevels } from '../shared/settings.js'
import type { OptionSpec } from './option-spec.js'
import { acmeOptionSpecs } from './acme-options.js'
import { proxyOptionSpecs } from './proxy-options.js'
import { storeOptionSpecs } from './store-options.js'
import { userOptionSpecs } from './user-options.js'

/**
 * The command-line options, each with its environment variable. One table drives
 * parsing, validation and `--help`. The connection limits' defaults come from
 * src/shared/settings.ts, which the worker uses too.
 */
export const optionSpecs = {
  host: {
    flag: '--host',
    env: 'SERAPH_HOST',
    placeholder: 'ADDRESS',
    defaultText: 'all interfaces (:: and 0.0.0.0)',
    description: 'address to listen on'
  },
  port: {
    flag: '--port',
    env: 'SERAPH_PORT',
    placeholder: 'N',
    min: 0,
    max: 65535,
    default: 8443,
    defaultNote: '0 picks a free port',
    description: 'HTTPS port (under systemd socket activation, the socket systemd passes instead)'
  },
  workers: {
    flag: '--workers',
    env: 'SERAPH_WORKERS',
    placeholder: 'N',
    min: 1,
    max: 256,
    default: availableParallelism(),
    defaultText: `one per CPU (${availableParallelism()} here)`,
    description: 'number of worker processes'
  },
  root: {
    flag: '--root',
    env: 'SERAPH_ROOT',
    placeholder: 'DIR',
    defaultText: 'the bundled sample blog',
    description: 'directory of static files to serve'
  },
  cert: {
    flag: '--cert',
    env: 'SERAPH_CERT',
    placeholder: 'FILE',
    defaultText: 'a generated development certificate',
    repeatable: true,
    description: 'PEM certificate (chain) file; repeat with --key for more names (SNI), the first pair is the default'
  },
  key: {
    flag: '--key',
    env: 'SERAPH_KEY',
    placeholder: 'FILE',
    repeatable: true,
    description: 'PEM private key file of --cert'
  },
  ...userOptionSpecs,
  ...acmeOptionSpecs,
  logLevel: {
    flag: '--log-level',
    env: 'SERAPH_LOG_LEVEL',
    placeholder: 'LEVEL',
    choices: logLevels,
    defaultText: 'info',
    description: 'log level'
  },
  shutdownTimeout: {
    flag: '--shutdown-timeout',
    env: 'SERAPH_SHUTDOWN_TIMEOUT',
    placeholder: 'TIME',
    min: 0,
    max: 3_600_000,
    default: 10_000,
    description: 'how long in-flight requests may finish on shutdown or reload before their connections are closed'
  },
  redirectPort: {
    flag: '--redirect-port',
    env: 'SERAPH_REDIRECT_PORT',
    placeholder: 'N',
    min: 0,
    max: 65535,
    defaultText: 'off',
    description: 'plain-HTTP port (e.g. 80) whose every request is redirected to HTTPS; 0 picks a free port (under socket activation, systemd\'s http socket)'
  },
  ...proxyOptionSpecs,
  ...storeOptionSpecs,
  followSymlinks: {
    flag: '--follow-symlinks',
    env: 'SERAPH_FOLLOW_SYMLINKS',
    switch: true,
    description: 'serve files that symbolic links under --root point to anywhere (default: only targets inside --root; certificates and keys never)'
  },
  noHttp2: {
    flag: '--no-http2',
    env: 'SERAPH_NO_HTTP2',
    switch: true,
    description: 'serve HTTP/1.1 only (default: HTTP/2 over ALPN, HTTP/1.1 for clients without it)'
  },
  fileCacheSize: {
    flag: '--file-cache-size',
    env: 'SERAPH_FILE_CACHE_SIZE',
    placeholder: 'MIB',
    min: 0,
    max: 65_536,
    default: 64,
    defaultNote: '0 streams every file from disk',
    description: 'in-memory cache of small files (≤ 1 MiB) with their compressed variants, per worker'
  },
  hstsMaxAge: {
    flag: '--hsts-max-age',
    env: 'SERAPH_HSTS_MAX_AGE',
    placeholder: 'TIME',
    min: 0,
    max: 2 * 365 * 86_400_000,
    defaultText: '365d with --cert; 0 (no header) with the development certificate',
    description: 'Strict-Transport-Security max-age; 0 sends no header'
  },
  csp: {
    flag: '--csp',
    env: 'SERAPH_CSP',
    placeholder: 'POLICY',
    defaultText: 'a strict same-origin policy',
    defaultNote: "'off' sends none; the policy is in docs/Reference/what-it-serves.md",
    description: 'Content-Security-Policy header'
  },
  adminPort: {
    flag: '--admin-port',
    env: 'SERAPH_ADMIN_PORT',
    placeholder: 'N',
    min: 0,
    max: 65535,
    defaultText: 'off',
    description: 'serve /metrics (Prometheus) and /healthz on 127.0.0.1 at this port; 0 picks a free port'
  },
  handshakeTimeout: {
    flag: '--handshake-timeout',
    env: 'SERAPH_HANDSHAKE_TIMEOUT',
    placeholder: 'TIME',
    min: 1,
    max: 600_000,
    default: defaultLimits.handshakeTimeoutMs,
    description: 'close a connection whose TLS handshake has not finished by then'
  },
  headersTimeout: {
    flag: '--headers-timeout',
    env: 'SERAPH_HEADERS_TIMEOUT',
    placeholder: 'TIME',
    min: 1,
    max: 600_000,
    default: defaultLimits.headersTimeoutMs,
    description: 'time to receive a request\'s headers (answered 408)'
  },
  requestTimeout: {
    flag: '--request-timeout',
    env: 'SERAPH_REQUEST_TIMEOUT',
    placeholder: 'TIME',
    min: 1,
    max: 3_600_000,
    default: defaultLimits.requestTimeoutMs,
    description: 'time to receive a whole request, body included; at least --headers-timeout'
  },
  keepAliveTimeout: {
    flag: '--keep-alive-timeout',
    env: 'SERAPH_KEEP_ALIVE_TIMEOUT',
    placeholder: 'TIME',
    min: 1,
    max: 3_600_000,
    default: defaultLimits.keepAliveTimeoutMs,
    description: 'close a keep-alive connection idle between requests for this long'
  },
  socketTimeout: {
    flag: '--socket-timeout',
    env: 'SERAPH_SOCKET_TIMEOUT',
    placeholder: 'TIME',
    min: 1,
    max: 3_600_000,
    default: defaultLimits.socketTimeoutMs,
    description: 'close a connection with no traffic either way for this long (a stalled download)'
  },
  maxConnections: {
    flag: '--max-connections',
    env: 'SERAPH_MAX_CONNECTIONS',
    placeholder: 'N',
    min: 1,
    max: 1_000_000,
    default: defaultLimits.maxConnections,
    description: 'connections per worker; more are refused at once'
  },
  ticketRotate: {
    flag: '--ticket-rotate',
    env: 'SERAPH_TICKET_ROTATE',
    placeholder: 'TIME',
    min: 1000,
    max: 7 * 86_400_000,
    default: 12 * 3_600_000,
    description: 'replace the TLS session-ticket keys this often (not with --ticket-key-file)'
  },
  ticketKeyFile: {
    flag: '--ticket-key-file',
    env: 'SERAPH_TICKET_KEY_FILE',
    placeholder: 'FILE',
    defaultText: 'random keys, owned by the primary',
    description: '48-byte session-ticket key file shared by several servers; re-read on SIGHUP'
  },
  sessionCacheSize: {
    flag: '--session-cache-size',
    env: 'SERAPH_SESSION_CACHE_SIZE',
    placeholder: 'N',
    min: 0,
    max: 10_000_000,
    default: 20_000,
    defaultNote: '0 turns it off',
    description: 'TLS 1.2 sessions (by session ID) kept in the cache all workers share'
  },
  sessionTimeout: {
    flag: '--session-timeout',
    env: 'SERAPH_SESSION_TIMEOUT',
    placeholder: 'TIME',
    min: 1000,
    max: 86_400_000,
    default: 300_000,
    description: 'lifetime of a cached TLS session'
  },
  tlsCiphers: {
    flag: '--tls-ciphers',
    env: 'SERAPH_TLS_CIPHERS',
    placeholder: 'LIST',
    defaultText: "Mozilla intermediate: ECDHE with AES-GCM or ChaCha20-Poly1305; Node's TLS 1.3 suites",
    description: "OpenSSL cipher list (colon-separated) for every certificate; Node's TLS 1.3 suites are kept unless it names TLS_ ones"
  },
  tlsGroups: {
    flag: '--tls-groups',
    env: 'SERAPH_TLS_GROUPS',
    placeholder: 'LIST',
    defaultText: 'X25519MLKEM768 (where OpenSSL has it, 3.5+), X25519, P-256, P-384',
    description: 'key exchange groups (colon-separated, preferred first) for every certificate'
  },
  tlsMinVersion: {
    flag: '--tls-min-version',
    env: 'SERAPH_TLS_MIN_VERSION',
    placeholder: 'VERSION',
    choices: ['1.2', '1.3'],
    defaultText: '1.2',
    description: 'oldest TLS version accepted'
  },
  help: {
    flag: '--help',
    switch: true,
    description: 'print this help and exit'
  },
  version: {
    flag: '--version',
    switch: true,
    description: 'print the version and exit'
  }
} as const satisfies Record<string, OptionSpec>

export type OptionName = keyof typeof optionSpecs

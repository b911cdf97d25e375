import { accessSync, constants, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { acmeConfig, type AcmeConfig } from './acme-config.js'
import { storeConfig, type StoreConfig } from './store-options.js'
import { SeraphError } from '../shared/errors.js'
import type { OptionSpec } from './option-spec.js'
import { optionSpecs, type OptionName } from './options.js'
import { proxyProtocolConfig, type ProxyProtocolConfig } from './proxy-options.js'
import { socketActivation, type ActivatedSockets } from './socket-activation.js'
import { workerUserConfig, type WorkerUser } from './user-options.js'
import { defaultContentSecurityPolicy, type ConnectionLimits, type LogLevel } from '../shared/settings.js'
import { bundledPublicDir } from '../shared/package-info.js'
import { tlsPolicy, type TlsPolicy } from '../shared/tls-policy.js'
import { tlsGroups } from '../shared/tls-groups.js'

/** Everything the primary needs to run, validated. */
export interface Config {
  /** `undefined` listens on all interfaces. */
  readonly host: string | undefined
  readonly port: number
  readonly workers: number
  readonly root: string
  /** Both set, or both `undefined` for the development certificate. */
  readonly cert: string | undefined
  readonly key: string | undefined
  /** Every --cert/--key pair, in order (the first is `cert`/`key`); for SNI. */
  readonly certPairs: ReadonlyArray<{ readonly cert: string, readonly key: string }>
  /** `undefined`: no --domain, no ACME. */
  readonly acme: AcmeConfig | undefined
  /** --store: state shared with other seraph hosts; `undefined`: this host keeps everything itself. */
  readonly store: StoreConfig | undefined
  readonly logLevel: LogLevel
  readonly shutdownTimeoutMs: number
  /** `undefined`: no admin listener. */
  readonly adminPort: number | undefined
  readonly limits: ConnectionLimits
  readonly tls: TlsSessionSettings
  readonly http2: boolean
  /** Serve symbolic links whose targets lie outside the root. */
  readonly followSymlinks: boolean
  /** `undefined`: one year with --cert, none with the development certificate. */
  readonly hstsMaxAgeMs: number | undefined
  readonly contentSecurityPolicy: string | false
  readonly fileCacheBytes: number
  /** `undefined`: no HTTP → HTTPS redirect listener. */
  readonly redirectPort: number | undefined
  /** --proxy-protocol and its --trusted-proxy list; `undefined` when off. */
  readonly proxyProtocol: ProxyProtocolConfig
  /** Ciphers, oldest protocol and key exchange groups of every TLS context; checked here, in the primary. */
  readonly tlsPolicy: TlsPolicy
  /** Started as root: the account the workers run as. `undefined`: as the primary. */
  readonly workerUser: WorkerUser | undefined
  /** The sockets systemd passed: used instead of binding --port and --redirect-port. */
  readonly socketActivation: ActivatedSockets | undefined
}

/** The process the configuration is for: its id (LISTEN_PID) and who it runs as (--user). */
export interface ProcessInfo {
  readonly pid: number
  /** `undefined` where there are no uids (Windows). */
  readonly identity: { readonly uid: number, readonly gid: number } | undefined
}

const thisProcess: ProcessInfo = {
  pid: process.pid,
  identity: process.getuid === undefined || process.getgid === undefined ? undefined : { uid: process.getuid(), gid: process.getgid() }
}

/** Session resumption across workers; see docs/Reference/tls.md, "Sessions and ticket keys". */
export interface TlsSessionSettings {
  readonly ticketRotateMs: number
  readonly ticketKeyFile: string | undefined
  readonly sessionCacheSize: number
  readonly sessionTimeoutMs: number
}

export type CliRequest =
  | { readonly action: 'help' }
  | { readonly action: 'version' }
  | { readonly action: 'serve', readonly config: Config }

type RawValues = Partial<Record<OptionName, string | boolean>>

const flagToName = new Map(
  (Object.entries(optionSpecs) as Array<[OptionName, OptionSpec]>).map(([name, spec]) => [spec.flag, name])
)

/**
 * Parses flags and environment variables (a flag wins) into a validated request.
 * Throws a {@link SeraphError} naming the flag for any bad input.
 */
export function parseCommandLine (argv: readonly string[], env: NodeJS.ProcessEnv, cwd = process.cwd(), self = thisProcess): CliRequest {
  const values = readArgv(argv)
  if (values.help === true) return { action: 'help' }
  if (values.version === true) return { action: 'version' }
  const labels = new Map<OptionName, string>()
  for (const [name, spec] of Object.entries(optionSpecs) as Array<[OptionName, OptionSpec]>) {
    const fromEnv = spec.env === undefined ? undefined : env[spec.env]
    if (values[name] === undefined && fromEnv !== undefined && fromEnv !== '') {
      // A repeatable option's variable is a comma-separated list.
      values[name] = spec.repeatable === true ? fromEnv.split(',').map((v) => v.trim()).join(listSeparator) : fromEnv
      labels.set(name, `${spec.env as string} (${spec.flag})`)
    }
  }
  // Errors name where the bad value came from: the flag, or its variable.
  const label = (name: OptionName): string => labels.get(name) ?? optionSpecs[name].flag
  return { action: 'serve', config: validate(values, label, cwd, env, self) }
}

// Hand-rolled rather than util.parseArgs: its errors are multi-line and talk
// about its own API, and every error here must be one line naming the flag.
function readArgv (argv: readonly string[]): RawValues {
  const values: RawValues = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--')) throw new SeraphError('SERAPH_ERR_UNEXPECTED_ARGUMENT', arg)
    const eq = arg.indexOf('=')
    const flag = eq === -1 ? arg : arg.slice(0, eq)
    const name = flagToName.get(flag)
    if (name === undefined) throw new SeraphError('SERAPH_ERR_UNKNOWN_OPTION', flag)
    const spec: OptionSpec = optionSpecs[name]
    if (spec.switch === true) {
      if (eq !== -1) throw new SeraphError('SERAPH_ERR_UNEXPECTED_ARGUMENT', arg)
      values[name] = true
      continue
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new SeraphError('SERAPH_ERR_MISSING_VALUE', flag)
    // A repeatable flag collects every value; others keep the last one.
    const before = values[name]
    values[name] = spec.repeatable === true && typeof before === 'string' ? `${before}${listSeparator}${value}` : value
  }
  return values
}

const listSeparator = '\0'

export type Label = (name: OptionName) => string

function validate (values: RawValues, label: Label, cwd: string, env: NodeJS.ProcessEnv, self: ProcessInfo): Config {
  const text = (name: OptionName): string | undefined => {
    const value = values[name]
    return typeof value === 'string' ? value : undefined
  }
  const list = (name: OptionName): string[] => text(name)?.split(listSeparator) ?? []
  const certs = list('cert')
  const keys = list('key')
  if (certs.length > keys.length) throw new SeraphError('SERAPH_ERR_CERT_PAIR_INCOMPLETE', label('cert'), '--key')
  if (keys.length > certs.length) throw new SeraphError('SERAPH_ERR_CERT_PAIR_INCOMPLETE', label('key'), '--cert')
  const certPairs = certs.map((c, i) => ({ cert: resolve(cwd, c), key: resolve(cwd, keys[i] as string) }))
  const cert = certPairs[0]?.cert
  const key = certPairs[0]?.key
  const host = text('host')
  if (host !== undefined && host.trim() === '') throw new SeraphError('SERAPH_ERR_MISSING_VALUE', label('host'))
  const limits: ConnectionLimits = {
    handshakeTimeoutMs: duration('handshakeTimeout', label('handshakeTimeout'), text('handshakeTimeout')),
    headersTimeoutMs: duration('headersTimeout', label('headersTimeout'), text('headersTimeout')),
    requestTimeoutMs: duration('requestTimeout', label('requestTimeout'), text('requestTimeout')),
    keepAliveTimeoutMs: duration('keepAliveTimeout', label('keepAliveTimeout'), text('keepAliveTimeout')),
    socketTimeoutMs: duration('socketTimeout', label('socketTimeout'), text('socketTimeout')),
    maxConnections: integer('maxConnections', label('maxConnections'), text('maxConnections'))
  }
  // Node refuses a headers timeout longer than the whole-request timeout.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new SeraphError('SERAPH_ERR_TIMEOUT_ORDER', label('headersTimeout'), label('requestTimeout'))
  }
  const adminPort = text('adminPort')
  const activation = socketActivation(env, self.pid)
  const ticketKeyFile = text('ticketKeyFile')
  const tls: TlsSessionSettings = {
    ticketRotateMs: duration('ticketRotate', label('ticketRotate'), text('ticketRotate')),
    ticketKeyFile: ticketKeyFile === undefined ? undefined : resolve(cwd, ticketKeyFile),
    sessionCacheSize: integer('sessionCacheSize', label('sessionCacheSize'), text('sessionCacheSize')),
    sessionTimeoutMs: duration('sessionTimeout', label('sessionTimeout'), text('sessionTimeout'))
  }
  return {
    tls,
    tlsPolicy: tlsPolicy(label('tlsCiphers'), text('tlsCiphers'),
      choice('tlsMinVersion', label('tlsMinVersion'), text('tlsMinVersion'), '1.2') === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
      tlsGroups(label('tlsGroups'), text('tlsGroups'))),
    http2: !switchValue(label('noHttp2'), values.noHttp2),
    followSymlinks: switchValue(label('followSymlinks'), values.followSymlinks),
    hstsMaxAgeMs: text('hstsMaxAge') === undefined ? undefined : duration('hstsMaxAge', label('hstsMaxAge'), text('hstsMaxAge')),
    contentSecurityPolicy: contentSecurityPolicy(label('csp'), text('csp')),
    proxyProtocol: proxyProtocolConfig(switchValue(label('proxyProtocol'), values.proxyProtocol), list('trustedProxy'), label),
    redirectPort: text('redirectPort') === undefined ? undefined : integer('redirectPort', label('redirectPort'), text('redirectPort')),
    socketActivation: activation,
    workerUser: workerUserConfig(text('user'), text('group'), label, self.identity),
    fileCacheBytes: integer('fileCacheSize', label('fileCacheSize'), text('fileCacheSize')) * 1024 * 1024,
    host,
    adminPort: adminPort === undefined ? undefined : integer('adminPort', label('adminPort'), adminPort),
    limits,
    port: integer('port', label('port'), text('port')),
    workers: integer('workers', label('workers'), text('workers')),
    root: directory(label('root'), text('root'), cwd),
    cert,
    key,
    certPairs,
    acme: acmeConfig({
      domains: list('domain'),
      directory: text('acmeDirectory'),
      email: text('acmeEmail'),
      caFile: text('acmeCa'),
      challenge: text('acmeChallenge') === undefined ? undefined : choice('acmeChallenge', label('acmeChallenge'), text('acmeChallenge'), 'http-01'),
      stateDir: text('stateDir'),
      profile: text('acmeProfile'),
      redirectPort: text('redirectPort') !== undefined || activation?.http !== undefined
    }, label, cwd, env),
    store: storeConfig(text('store'), text('storeKeyFile'), label, cwd),
    logLevel: choice('logLevel', label('logLevel'), text('logLevel'), 'info') as LogLevel,
    shutdownTimeoutMs: duration('shutdownTimeout', label('shutdownTimeout'), text('shutdownTimeout'))
  }
}

// A value not given is the spec's default (options.ts), the one --help shows.
function integer (name: OptionName, flag: string, raw: string | undefined): number {
  const spec: OptionSpec = optionSpecs[name]
  if (raw === undefined) return spec.default ?? 0
  const min = spec.min ?? 0
  const max = spec.max ?? Number.MAX_SAFE_INTEGER
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SeraphError('SERAPH_ERR_INVALID_NUMBER', flag, min, max, raw)
  }
  return value
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Accepts `500ms`, `10s`, `2m`, `1h`, `365d`, or a bare number of milliseconds. */
export function parseDuration (raw: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim())
  if (match === null) return undefined
  const value = Number(match[1]) * (durationUnits[match[2] ?? 'ms'] as number)
  return Number.isFinite(value) ? Math.round(value) : undefined
}

function duration (name: OptionName, flag: string, raw: string | undefined): number {
  const spec: OptionSpec = optionSpecs[name]
  if (raw === undefined) return spec.default ?? 0
  const value = parseDuration(raw)
  if (value === undefined || value < (spec.min ?? 0) || value > (spec.max ?? Number.MAX_SAFE_INTEGER)) {
    throw new SeraphError('SERAPH_ERR_INVALID_DURATION', flag, raw)
  }
  return value
}

function contentSecurityPolicy (flag: string, raw: string | undefined): string | false {
  if (raw === undefined) return defaultContentSecurityPolicy
  if (raw.trim() === 'off') return false
  if (raw.trim() === '' || /[\r\n]/.test(raw)) throw new SeraphError('SERAPH_ERR_MISSING_VALUE', flag)
  return raw.trim()
}

const switchWords: Record<string, boolean> = { 1: true, true: true, yes: true, on: true, 0: false, false: false, no: false, off: false }

// A switch is `true` from its flag, or a yes/no word from its variable.
function switchValue (flag: string, raw: string | boolean | undefined): boolean {
  if (raw === undefined || typeof raw === 'boolean') return raw === true
  const value = switchWords[raw.trim().toLowerCase()]
  if (value === undefined) throw new SeraphError('SERAPH_ERR_INVALID_CHOICE', flag, Object.keys(switchWords).join(', '), raw)
  return value
}

function choice (name: OptionName, flag: string, raw: string | undefined, fallback: string): string {
  if (raw === undefined) return fallback
  const spec: OptionSpec = optionSpecs[name]
  const choices = spec.choices ?? []
  if (!choices.includes(raw)) throw new SeraphError('SERAPH_ERR_INVALID_CHOICE', flag, choices.join(', '), raw)
  return raw
}

function directory (flag: string, raw: string | undefined, cwd: string): string {
  const dir = raw === undefined ? bundledPublicDir : resolve(cwd, raw)
  let isDirectory: boolean
  try {
    isDirectory = statSync(dir).isDirectory()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new SeraphError(code === 'EACCES' ? 'SERAPH_ERR_ROOT_UNREADABLE' : 'SERAPH_ERR_ROOT_NOT_FOUND', flag, dir)
  }
  if (!isDirectory) throw new SeraphError('SERAPH_ERR_ROOT_NOT_DIRECTORY', flag, dir)
  try {
    accessSync(dir, constants.R_OK | constants.X_OK)
  } catch {
    throw new SeraphError('SERAPH_ERR_ROOT_UNREADABLE', flag, dir)
  }
  return dir
}

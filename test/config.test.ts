import { availableParallelism } from 'node:os'
import t from 'tap'
import { parseCommandLine, parseDuration, type Config } from '../src/config/config.js'
import { helpText } from '../src/config/help-text.js'
import { bundledPublicDir } from '../src/shared/package-info.js'
import { tempDir } from './helpers/certificates.js'

function serve (argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const request = parseCommandLine(argv, env)
  if (request.action !== 'serve') throw new Error(`expected serve, got ${request.action}`)
  return request.config
}

// The documented default port, as a value: these tests parse options and open no socket.
const defaultHttpsPort = 8443

t.test('defaults', async (t) => {
  t.match(serve([]), {
    host: undefined,
    port: defaultHttpsPort,
    workers: availableParallelism(),
    root: bundledPublicDir,
    cert: undefined,
    key: undefined,
    logLevel: 'info',
    shutdownTimeoutMs: 10_000
  })
})

t.test('flags, --flag=value, and environment variables; a flag wins', async (t) => {
  const root = tempDir(t)
  const env = { SERAPH_PORT: '9000', SERAPH_WORKERS: '3', SERAPH_ROOT: root, SERAPH_LOG_LEVEL: 'warn', SERAPH_HOST: '::1' }
  t.match(serve([], env), { port: 9000, workers: 3, root, logLevel: 'warn', host: '::1' })
  t.match(serve(['--port', '0', '--workers=1', '--log-level', 'debug'], env), { port: 0, workers: 1, logLevel: 'debug', root })
  t.match(serve([], { SERAPH_PORT: '' }), { port: defaultHttpsPort }, 'an empty variable counts as unset')
})

t.test('relative paths resolve against the working directory', async (t) => {
  const config = parseCommandLine(['--cert', 'c.pem', '--key', 'k.pem'], {}, '/srv/blog')
  t.match(config, { action: 'serve', config: { cert: '/srv/blog/c.pem', key: '/srv/blog/k.pem' } })
})

t.test('--help and --version win over everything else', async (t) => {
  t.same(parseCommandLine(['--port', '1', '--help'], {}), { action: 'help' })
  t.same(parseCommandLine(['--version'], { SERAPH_PORT: 'bad' }), { action: 'version' })
})

t.test('durations', async (t) => {
  t.equal(parseDuration('500ms'), 500)
  t.equal(parseDuration('10s'), 10_000)
  t.equal(parseDuration('1.5s'), 1500)
  t.equal(parseDuration('2m'), 120_000)
  t.equal(parseDuration('1h'), 3_600_000)
  t.equal(parseDuration('250'), 250)
  t.equal(parseDuration('ten'), undefined)
  t.equal(parseDuration('-1s'), undefined)
  t.equal(parseDuration('2d'), 172_800_000)
  t.equal(parseDuration('5w'), undefined)
})

t.test('a bad environment variable is named in the error', async (t) => {
  t.throws(() => serve([], { SERAPH_PORT: '99999' }), { code: 'SERAPH_ERR_INVALID_NUMBER', message: /SERAPH_PORT \(--port\)/ })
  t.throws(() => serve(['--port', 'x']), { code: 'SERAPH_ERR_INVALID_NUMBER', message: /^--port must/ })
})

t.test('every default --help states is the one the parser applies', async (t) => {
  const { config } = parseCommandLine([], {}) as { config: Config }
  const help = helpText('test')
  const said = (flag: string): string | undefined => new RegExp(`${flag} [^\\n]*default: ([^;\\]]+)`).exec(help)?.[1]
  t.equal(said('--port'), String(config.port))
  t.equal(said('--file-cache-size'), String(config.fileCacheBytes / 1024 / 1024))
  t.equal(said('--session-cache-size'), String(config.tls.sessionCacheSize))
  t.equal(said('--max-connections'), String(config.limits.maxConnections))
  const ms = (text: string | undefined): number => {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(text ?? '')
    return match === null ? Number.NaN : Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms']
  }
  t.equal(ms(said('--shutdown-timeout')), config.shutdownTimeoutMs)
  t.equal(ms(said('--handshake-timeout')), config.limits.handshakeTimeoutMs)
  t.equal(ms(said('--headers-timeout')), config.limits.headersTimeoutMs)
  t.equal(ms(said('--request-timeout')), config.limits.requestTimeoutMs)
  t.equal(ms(said('--keep-alive-timeout')), config.limits.keepAliveTimeoutMs)
  t.equal(ms(said('--socket-timeout')), config.limits.socketTimeoutMs)
  t.equal(ms(said('--ticket-rotate')), config.tls.ticketRotateMs)
  t.equal(ms(said('--session-timeout')), config.tls.sessionTimeoutMs)
})

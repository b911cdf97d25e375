import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseCommandLine, type Config } from '../src/config/config.js'
import { tempDir } from './helpers/certificates.js'
import { expectCliFailure } from './helpers/cli-failure.js'

function serve (argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const request = parseCommandLine(argv, env)
  if (request.action !== 'serve') throw new Error(`expected serve, got ${request.action}`)
  return request.config
}

t.test('--store and --store-key-file: raw 32 bytes or 64 hex digits, resolved against the working directory', async (t) => {
  const dir = tempDir(t)
  const raw = Buffer.alloc(32, 7)
  writeFileSync(join(dir, 'raw.key'), raw)
  writeFileSync(join(dir, 'hex.key'), `${raw.toString('hex')}\n`)
  t.equal(serve([]).store, undefined, 'no store by default')
  for (const file of ['raw.key', 'hex.key']) {
    const { config: { store } } = parseCommandLine(['--store', 'redis://:secret@127.0.0.1:6379/2', '--store-key-file', file], {}, dir) as { config: Config }
    t.same(store, { url: 'redis://:secret@127.0.0.1:6379/2', keyFile: join(dir, file), key: raw }, file)
  }
  t.match(serve([], { SERAPH_STORE: 'rediss://redis.internal', SERAPH_STORE_KEY_FILE: join(dir, 'raw.key') }).store, { url: 'rediss://redis.internal' })
})

t.test('bad store configuration: one line with its code, exit 1', async (t) => {
  const dir = tempDir(t)
  const key = join(dir, 'store.key')
  writeFileSync(key, Buffer.alloc(32))
  const short = join(dir, 'short.key')
  writeFileSync(short, 'too short\n')
  const cases: Array<[string, string[], Parameters<typeof expectCliFailure>[2], RegExp]> = [
    ['an http URL', ['--store', 'http://127.0.0.1:6379', '--store-key-file', key], 'SERAPH_ERR_STORE_URL_INVALID', /--store "http:\/\/127\.0\.0\.1:6379"/],
    ['no host', ['--store', 'redis://', '--store-key-file', key], 'SERAPH_ERR_STORE_URL_INVALID', /--store/],
    ['a database that is not a number, password hidden', ['--store', 'redis://:hunter2@db:6379/blog', '--store-key-file', key], 'SERAPH_ERR_STORE_URL_INVALID', /redis:\/\/\*\*\*@db:6379\/blog/],
    ['no key file', ['--store', 'redis://127.0.0.1:6379'], 'SERAPH_ERR_STORE_INCOMPLETE', /--store needs --store-key-file/],
    ['a key file without a store', ['--store-key-file', key], 'SERAPH_ERR_STORE_INCOMPLETE', /--store-key-file needs --store/],
    ['a key file that is missing', ['--store', 'redis://127.0.0.1:6379', '--store-key-file', join(dir, 'nope.key')], 'SERAPH_ERR_STORE_KEY_UNREADABLE', /nope\.key: cannot read the file \(ENOENT\)/],
    ['a key file of the wrong size', ['--store', 'redis://127.0.0.1:6379', '--store-key-file', short], 'SERAPH_ERR_STORE_KEY_INVALID', /holds 10 bytes/]
  ]
  for (const [name, args, code, mention] of cases) {
    await t.test(name, (t) => expectCliFailure(t, args, code, mention))
  }
})

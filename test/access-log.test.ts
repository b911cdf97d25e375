import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { formatMs, logAccess, maxLoggedUrlLength, type AccessFields } from '../src/worker/access-log.js'

function capture (level = 'info') {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''))
      done()
    }
  })
  // Bindings like a worker's (logger.ts).
  const logger = pino({ level, base: { role: 'worker', pid: 4242, worker: 3 } }, stream)
  return { logger, lines }
}

const withoutTime = (line: string): string => line.replace(/"time":\d+,/, '"time":0,')

t.test('the access line is byte for byte what pino writes for the same fields', async (t) => {
  const cases: AccessFields[] = [
    { method: 'GET', http: '1.1', url: '/index.html', status: 200, bytes: 3121, ms: 0.0312 },
    { method: 'HEAD', http: '2.0', url: '/posts/ünïcödé "quoted" \\ \u0001', status: 304, bytes: 0, ms: 12.3456 },
    { method: undefined, http: '1.0', url: '/', status: 400, bytes: 0, ms: 0 },
    { method: 'GET', http: '1.1', url: '/x', status: 308, bytes: 0, ms: 0, scheme: 'http' },
    { method: 'GET', http: '1.1', url: '/x', status: 308, bytes: 0, ms: 0, scheme: 'http', remote: '127.0.0.5' },
    { method: 'GET', http: '2.0', url: '/', status: 200, bytes: 1, ms: 1, remote: '2001:db8::"1' }
  ]
  for (const fields of cases) {
    const ours = capture()
    logAccess(ours.logger, fields)
    const reference = capture()
    reference.logger.info({ ...fields, ms: Math.round(fields.ms * 100) / 100 }, 'request')
    t.equal(ours.lines.length, 1)
    t.equal(withoutTime(ours.lines[0]!), withoutTime(reference.lines[0]!), JSON.stringify(fields))
    t.ok(Math.abs(JSON.parse(ours.lines[0]!).time - Date.now()) < 60_000, 'time is epoch milliseconds')
  }
})

t.test('a long URL is capped; above info nothing is written', async (t) => {
  const long = capture()
  logAccess(long.logger, { method: 'GET', http: '1.1', url: `/${'a'.repeat(5000)}`, status: 404, bytes: 9, ms: 1 })
  const url = JSON.parse(long.lines[0]!).url as string
  t.equal(url.length, maxLoggedUrlLength + 1, 'cut at the cap, plus an ellipsis')
  t.ok(url.endsWith('…'))
  const quiet = capture('warn')
  logAccess(quiet.logger, { method: 'GET', http: '1.1', url: '/', status: 200, bytes: 1, ms: 1 })
  t.same(quiet.lines, [])
})

t.test('the duration is written as JSON writes Math.round(ms * 100) / 100', async (t) => {
  let differences = 0
  const check = (ms: number): void => {
    if (formatMs(ms) !== JSON.stringify(Math.round(ms * 100) / 100)) differences++
  }
  // Every hundredth up to 2,000 ms, values between them, and a spread up to the fallback and past it.
  for (let hundredths = 0; hundredths <= 200_000; hundredths++) {
    check(hundredths / 100)
    check(hundredths / 100 + 0.004999)
  }
  for (let i = 0; i < 100_000; i++) check(Math.random() * 10 ** (1 + (i % 9)))
  for (const ms of [0, -0, 0.005, 0.004999, 1e7 - 0.001, 1e7, 5e8, 1e12 + 0.5, Number.MAX_SAFE_INTEGER]) check(ms)
  t.equal(differences, 0, 'no value written differently')
  t.equal(formatMs(12.3456), '12.35')
  t.equal(formatMs(0.1), '0.1')
  t.equal(formatMs(3), '3')
})

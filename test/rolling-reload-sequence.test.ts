import type { Worker } from 'node:cluster'
import pino from 'pino'
import t from 'tap'
import type { WorkerState } from '../src/primary/worker-pool.js'
import type { Config } from '../src/config/config.js'
import { SeraphError } from '../src/shared/errors.js'
import { rollingReload, type ReloadHost } from '../src/primary/rolling-reload.js'

// The reload's order, checked in-process against a recording host: fast
// enough to run for every mutant of rolling-reload.ts (npm run test:mutation).
// The lifecycle tests check the same order on the real primary.

interface Options {
  readonly old: number
  readonly next: number
  /** Ids of replacements that exit before they listen. */
  readonly failing?: readonly number[]
  readonly reread?: () => Config
  /** stopping() turns true after this many forks. */
  readonly stopAfterForks?: number
}

interface Line { level: number, msg: string, [field: string]: unknown }

function recordingHost (options: Options): { host: ReloadHost, events: string[], results: string[], lines: Line[] } {
  const events: string[] = []
  const results: string[] = []
  const lines: Line[] = []
  let nextId = 1
  let generation = 1
  let forks = 0
  const make = (gen: number, replacement: boolean): WorkerState => {
    const id = nextId++
    return { worker: { id, process: { pid: 1000 + id } } as unknown as Worker, startedAt: 0, generation: gen, replacement, listening: true, draining: false }
  }
  const workers = Array.from({ length: options.old }, () => make(1, false))
  const host: ReloadHost = {
    log: pino({ level: 'info', base: null, timestamp: false }, { write: (line: string) => { lines.push(JSON.parse(line) as Line) } }),
    reread: options.reread ?? (() => ({ workers: options.next }) as unknown as Config),
    apply: () => ++generation,
    workers: () => workers,
    fork: (previous) => {
      forks++
      const state = make(generation, true)
      state.listening = false
      workers.push(state)
      events.push(`fork ${state.worker.id}${previous === undefined ? '' : ` for ${previous.worker.id}`}`)
      return state
    },
    listening: async (state) => {
      await Promise.resolve()
      if (options.failing?.includes(state.worker.id) === true) {
        events.push(`exit ${state.worker.id}`)
        return false
      }
      state.listening = true
      events.push(`listening ${state.worker.id}`)
      return true
    },
    drain: (state) => {
      state.draining = true
      events.push(`drain ${state.worker.id}`)
    },
    stopping: () => options.stopAfterForks !== undefined && forks >= options.stopAfterForks,
    result: (result) => { results.push(result) }
  }
  return { host, events, results, lines }
}

t.test('one at a time: each old worker drains only after its replacement listens', async (t) => {
  const { host, events, results, lines } = recordingHost({ old: 2, next: 2 })
  await rollingReload(host)
  t.same(events, ['fork 3 for 1', 'listening 3', 'drain 1', 'fork 4 for 2', 'listening 4', 'drain 2'])
  t.same(results, ['done'])
  t.same(lines, [
    { level: 30, generation: 2, workers: 2, msg: 'reload: replacing workers one at a time' },
    { level: 30, generation: 2, workers: [1003, 1004], msg: 'reload complete' }
  ], 'the operator sees the generation and the new pids')
})

t.test('more workers than before: the extra ones are forked after the replacements', async (t) => {
  const { host, events, results } = recordingHost({ old: 1, next: 3 })
  await rollingReload(host)
  t.same(events, ['fork 2 for 1', 'listening 2', 'drain 1', 'fork 3', 'listening 3', 'fork 4', 'listening 4'])
  t.same(results, ['done'])
})

t.test('fewer workers than before: the surplus drains after the last replacement', async (t) => {
  const { host, events, results } = recordingHost({ old: 3, next: 1 })
  await rollingReload(host)
  t.same(events, ['fork 4 for 1', 'listening 4', 'drain 1', 'drain 2', 'drain 3'])
  t.same(results, ['done'])
})

t.test('a replacement that fails ends the reload; the old workers left keep serving', async (t) => {
  const { host, events, results, lines } = recordingHost({ old: 2, next: 2, failing: [4] })
  await rollingReload(host)
  t.same(events, ['fork 3 for 1', 'listening 3', 'drain 1', 'fork 4 for 2', 'exit 4'])
  t.same(results, ['failed'])
  t.same(lines.at(-1), { level: 50, generation: 2, worker: 4, msg: 'reload failed: a replacement did not start; the running workers keep serving' })
})

t.test('an invalid configuration is refused before any worker is touched', async (t) => {
  const { host, events, results, lines } = recordingHost({
    old: 2,
    next: 2,
    reread: () => { throw new SeraphError('SERAPH_ERR_CERT_INVALID', '--cert', '/x.pem') }
  })
  await rollingReload(host)
  t.same(events, [])
  t.same(results, ['refused'])
  t.same(lines, [{ level: 50, code: 'SERAPH_ERR_CERT_INVALID', msg: 'reload refused, the running workers keep serving: --cert /x.pem: not a PEM certificate' }])
})

t.test('a shutdown during the reload stops it before the next fork', async (t) => {
  const { host, events, results } = recordingHost({ old: 2, next: 2, stopAfterForks: 1 })
  await rollingReload(host)
  t.same(events, ['fork 3 for 1', 'listening 3', 'drain 1'])
  t.same(results, [])
})

t.test('workers already draining are not replaced again', async (t) => {
  const { host, events } = recordingHost({ old: 2, next: 1 })
  host.workers()[0]!.draining = true
  await rollingReload(host)
  t.same(events, ['fork 3 for 2', 'listening 3', 'drain 2'])
})

import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { LineBatcher } from '../src/line-batcher.js'
import { tempDir } from './helpers/certificates.js'

function fileBatcher (t: Parameters<typeof tempDir>[0], options: ConstructorParameters<typeof LineBatcher>[1] = {}) {
  const path = join(tempDir(t), 'out.log')
  const fd = openSync(path, 'w')
  const batcher = new LineBatcher(fd, options)
  t.teardown(() => {
    batcher.end()
    closeSync(fd)
  })
  return { batcher, read: () => readFileSync(path, 'utf8') }
}

const lines = (n: number, prefix = 'line'): string[] => Array.from({ length: n }, (_, i) => `${prefix} ${i} ünïcödé ✓\n`)

t.test('every line arrives whole and in order; flush calls back when all is written', async (t) => {
  const { batcher, read } = fileBatcher(t, { maxWriteBytes: 256 })
  const all = [...lines(5000), `${'x'.repeat(1000)}\n`, ...lines(10, 'after')]
  for (const line of all) batcher.write(line)
  await new Promise<void>((resolve) => batcher.flush(() => resolve()))
  t.equal(read(), all.join(''), 'a line longer than a chunk is written on its own, in its place')
  t.equal(batcher.dropped, 0)
})

t.test('lines wait at most the flush interval', async (t) => {
  const { batcher, read } = fileBatcher(t, { flushIntervalMs: 20 })
  batcher.write('one short line\n')
  t.equal(read(), '', 'a short line waits for more')
  while (read() === '') await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(read(), 'one short line\n')
})

t.test('flushSync writes everything before it returns', async (t) => {
  const { batcher, read } = fileBatcher(t)
  const all = lines(300)
  for (const line of all) batcher.write(line)
  batcher.flushSync()
  t.equal(read().slice(-all.at(-1)!.length), all.at(-1), 'the last line is there at once')
  t.ok(read().length >= all.join('').length, 'nothing is missing')
})

t.test('when the reader falls behind, new lines are dropped and counted, never cut', async (t) => {
  const { batcher, read } = fileBatcher(t, { maxWriteBytes: 256, maxPendingBytes: 1024 })
  const all = lines(2000)
  let accepted = 0
  for (const line of all) if (batcher.write(line)) accepted++
  await new Promise<void>((resolve) => batcher.flush(() => resolve()))
  t.ok(batcher.dropped > 0, `${batcher.dropped} dropped`)
  t.equal(accepted + batcher.dropped, all.length)
  const written = read().split('\n').filter((l) => l !== '')
  t.equal(written.length, accepted, 'every accepted line was written')
  t.ok(written.every((l) => /^line \d+ ünïcödé ✓$/.test(l)), 'each of them whole')
})

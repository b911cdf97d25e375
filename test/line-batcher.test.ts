import { execFileSync } from 'node:child_process'
import { closeSync, constants, createReadStream, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { LineBatcher } from '../src/shared/line-batcher.js'
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
  // No event tells when the timer wrote: poll, with a deadline far above the interval.
  const deadline = Date.now() + 2000
  while (read() === '' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(read(), 'one short line\n', 'written by the interval timer')
})

t.test('flushSync writes everything before it returns', async (t) => {
  const { batcher, read } = fileBatcher(t)
  const all = lines(300)
  for (const line of all) batcher.write(line)
  batcher.flushSync()
  t.equal(read(), all.join(''))
})

t.test('a full pipe: lines wait in order, the surplus is dropped and counted, and all accepted lines arrive whole', async (t) => {
  const fifo = join(tempDir(t), 'fifo')
  execFileSync('mkfifo', [fifo])
  // Read-write and non-blocking: the pipe fills up (64 KiB) with nobody reading, then EAGAIN.
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK)
  const batcher = new LineBatcher(fd, { maxWriteBytes: 4096, maxPendingBytes: 16 * 1024 })
  t.teardown(() => {
    batcher.end()
    closeSync(fd)
  })
  const all = lines(5000)
  let accepted = 0
  for (const line of all) if (batcher.write(line)) accepted++
  t.ok(batcher.dropped > 0, `${batcher.dropped} of ${all.length} dropped`)
  t.equal(accepted + batcher.dropped, all.length)

  const received: string[] = []
  let partial = ''
  const reader = createReadStream(fifo, { encoding: 'utf8' })
  t.teardown(() => reader.destroy())
  await new Promise<void>((resolve) => {
    reader.on('data', (text) => {
      const parts = (partial + String(text)).split('\n')
      partial = parts.pop() ?? ''
      received.push(...parts)
      if (received.length >= accepted) resolve()
    })
  })
  t.equal(received.length, accepted, 'every accepted line arrived')
  t.ok(received.every((l) => /^line \d+ ünïcödé ✓$/.test(l)), 'each of them whole')
  const numbers = received.map((l) => Number(l.split(' ')[1]))
  t.ok(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!), 'in order')
})

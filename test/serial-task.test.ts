import t from 'tap'
import { SerialTask } from '../src/primary/serial-task.js'

t.test('runs one at a time and coalesces requests made meanwhile into one more run', async (t) => {
  let runs = 0
  let active = 0
  let maxActive = 0
  let release: () => void = () => {}
  const task = new SerialTask(async () => {
    runs++
    active++
    maxActive = Math.max(maxActive, active)
    await new Promise<void>((resolve) => { release = resolve })
    active--
  })
  const first = task.run()
  t.equal(task.running, true)
  task.run().catch(() => {})
  task.run().catch(() => {})
  release()
  await first
  // The queued run has started; let it finish.
  await new Promise((resolve) => setImmediate(resolve))
  release()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(runs, 2, 'three requests, two runs')
  t.equal(maxActive, 1, 'never two at once')
  t.equal(task.running, false)
})

import t from 'tap'
import { RestartPolicy } from '../src/primary/restart-policy.js'

const options = { stableAfterMs: 1000, baseDelayMs: 100, maxDelayMs: 1000, maxStartFailures: 3 }

t.test('a worker that ran for a while is replaced at once, every time', async (t) => {
  const policy = new RestartPolicy(options)
  for (let i = 0; i < 10; i++) t.same(policy.workerDied(5000, true), { action: 'restart', delayMs: 0 })
})

t.test('quick deaths back off exponentially up to the cap, a healthy run resets it', async (t) => {
  const policy = new RestartPolicy(options)
  const delays = Array.from({ length: 7 }, () => {
    policy.workerListening()
    const decision = policy.workerDied(10, true)
    return decision.action === 'restart' ? decision.delayMs : -1
  })
  t.same(delays, [0, 100, 200, 400, 800, 1000, 1000])
  t.same(policy.workerDied(5000, true), { action: 'restart', delayMs: 0 })
})

t.test('consecutive start-up failures give up; one successful start resets the count', async (t) => {
  const policy = new RestartPolicy(options)
  t.equal(policy.workerDied(10, false).action, 'restart')
  t.equal(policy.workerDied(10, false).action, 'restart')
  policy.workerListening()
  t.equal(policy.workerDied(10, false).action, 'restart')
  t.equal(policy.workerDied(10, false).action, 'restart')
  t.same(policy.workerDied(10, false), { action: 'give-up', startFailures: 3 })
})

import type { IncomingMessage } from 'node:http'
import t from 'tap'
import { closesWhileDraining } from '../src/worker/drain-rule.js'

const request = (httpVersionMajor: number): IncomingMessage => ({ httpVersionMajor }) as IncomingMessage

t.test('HTTP/1.x responses of a draining worker close their connection; nothing else does', async (t) => {
  t.ok(closesWhileDraining(request(1), () => true), 'HTTP/1.1 while draining')
  t.notOk(closesWhileDraining(request(1), () => false), 'HTTP/1.1 while serving')
  t.notOk(closesWhileDraining(request(2), () => true), 'HTTP/2 has no Connection header: GOAWAY instead')
  t.notOk(closesWhileDraining(request(1), undefined), 'an app without a drain (tests, benchmarks)')
})

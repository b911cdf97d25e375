import t from 'tap'
import { hasConflictingHost } from '../src/worker/host-header.js'

t.test('one host per request', async (t) => {
  t.notOk(hasConflictingHost(['Host', 'example.org', 'Accept', '*/*']), 'one Host')
  t.notOk(hasConflictingHost(['Accept', '*/*']), 'no Host at all (Node answers that itself for HTTP/1.1)')
  t.ok(hasConflictingHost(['Host', 'example.org', 'host', 'evil.example']), 'two Host fields, any case')
  t.ok(hasConflictingHost(['HOST', 'example.org', 'Host', 'example.org']), 'two Host fields that agree')
  t.notOk(hasConflictingHost(['Hosts', 'a', 'Host', 'b', 'X-Host', 'c']), 'only the Host field counts')
  t.notOk(hasConflictingHost(['Host', 'a', 'Date', 'b', 'Vary', 'c']), 'other four-letter fields are not a Host')
})

t.test('HTTP/2: :authority and Host must agree', async (t) => {
  t.notOk(hasConflictingHost([':authority', 'example.org', ':path', '/']), ':authority alone')
  t.notOk(hasConflictingHost([':authority', 'Example.org:8443', 'host', 'example.org:8443']), 'equal but for case')
  t.ok(hasConflictingHost([':authority', 'example.org', 'host', 'evil.example']), 'different')
  t.ok(hasConflictingHost(['host', 'evil.example', ':authority', 'example.org']), 'in either order')
})

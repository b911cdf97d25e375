import { X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { AcmeService } from '../src/primary/acme/acme-service.js'
import { StateStore } from '../src/primary/acme/state-store.js'
import { makeCertificate, tempDir } from './helpers/certificates.js'

// In-process: what prepare() makes of a tampered --state-dir decides what the
// workers serve before the CA is ever asked, so no CA is needed to test it.
const directoryUrl = 'https://ca.invalid/dir'
const day = 86_400_000

interface Pair { cert: string, key: string }

async function pair (dir: string, label: string, hosts: string[], validity?: { notBefore: Date, notAfter: Date }): Promise<Pair> {
  const made = await makeCertificate(dir, label, { hosts, ...validity })
  return { cert: readFileSync(made.cert, 'utf8'), key: readFileSync(made.key, 'utf8') }
}

t.test('prepare() serves a stored certificate only when it is valid, for exactly its name, with its key', async (t) => {
  const dir = tempDir(t)
  const stateDir = join(dir, 'state')
  const store = new StateStore(stateDir, directoryUrl)
  await store.open()

  const good = await pair(dir, 'good', ['good.blog.test'])
  const other = await pair(dir, 'other', ['wrong-key.blog.test'])
  const keyOwner = await pair(dir, 'key-owner', ['wrong-key.blog.test'])
  const otherName = await pair(dir, 'other-name', ['b.blog.test'])
  const extraName = await pair(dir, 'extra-name', ['two-names.blog.test', 'www.two-names.blog.test'])
  const expired = await pair(dir, 'expired', ['expired.blog.test'], { notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) })
  const future = await pair(dir, 'future', ['future.blog.test'], { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 30 * day) })

  const write = (name: string, p: Pair): Promise<void> => store.writeCertificate(name, { key: p.key, chain: p.cert })
  await write('good.blog.test', good)
  await write('wrong-key.blog.test', { cert: other.cert, key: keyOwner.key })
  await write('wrong-name.blog.test', otherName)
  await write('two-names.blog.test', extraName)
  await write('expired.blog.test', expired)
  await write('future.blog.test', future)
  await write('no-key.blog.test', good)
  const noKeyPath = join(stateDir, 'ca.invalid-dir', 'certificates', 'no-key.blog.test.pem')
  writeFileSync(noKeyPath, good.cert)

  const expected: Record<string, RegExp | undefined> = {
    'good.blog.test': undefined,
    'wrong-key.blog.test': /private key does not belong/,
    'wrong-name.blog.test': /for DNS:b\.blog\.test, not DNS:wrong-name\.blog\.test/,
    'two-names.blog.test': /DNS:www\.two-names\.blog\.test/,
    'expired.blog.test': /^expired on /,
    'future.blog.test': /^not valid before /,
    'no-key.blog.test': /holds no private key/,
    'absent.blog.test': undefined
  }
  const lines: Array<Record<string, unknown>> = []
  const log = pino({ level: 'debug' }, { write: (line: string) => { lines.push(JSON.parse(line)) } })
  const service = new AcmeService({
    config: { domains: Object.keys(expected), directoryUrl, email: undefined, ca: undefined, challenge: 'tls-alpn-01', stateDir },
    log,
    manualNames: () => false,
    publishCertificates: () => {},
    publishChallenges: async () => {}
  })
  await service.prepare()

  const health = new Map(service.health().map((h) => [h.name, h]))
  const warnings = lines.filter((l) => l.msg === 'stored certificate not used, ordering a new one')
  for (const [name, reason] of Object.entries(expected)) {
    const warned = warnings.filter((l) => (l.names as string[])[0] === name)
    if (name === 'good.blog.test') {
      t.equal(health.get(name)?.temporary, false, `${name}: served from --state-dir`)
      t.equal(health.get(name)?.serial, new X509Certificate(good.cert).serialNumber.toLowerCase())
      t.equal(warned.length, 0)
      continue
    }
    t.equal(health.get(name)?.temporary, true, `${name}: not served, a temporary certificate until the new order`)
    if (reason === undefined) {
      t.equal(warned.length, 0, `${name}: no file, nothing to warn about`)
      continue
    }
    t.equal(warned.length, 1, `${name}: one warning`)
    t.equal(warned[0]?.level, 40, 'at warn')
    t.match(warned[0]?.reason, reason, `${name}: ${String(warned[0]?.reason)}`)
  }
  t.same(lines.filter((l) => l.msg === 'stored certificate loaded').map((l) => l.names), [['good.blog.test']])
  // The worker side gets the same answer: only the good name has its stored pair.
  const entry = service.certificates.find((c) => c.names[0] === 'good.blog.test')
  t.equal(entry?.key, good.key)
})

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { buildApp } from '../src/worker/app.js'
import { ensureDevCertificate } from '../src/primary/certificates.js'
import { devCertDir } from '../src/shared/state-dir.js'
import { pino } from 'pino'

// `_headers` and forced `_redirects` rules on the fast paths (fast-path.ts,
// http2-fast-path.ts): a cached page's answer carries the same edited
// headers, in the same order, as Fastify's for the same request (with a
// query string, which the fast paths never take), over HTTP/1.1 and HTTP/2;
// a page a forced rule matches never takes the fast path. Requests Fastify
// handles are counted by an onRequest hook.

const page = '<!doctype html><title>Hello</title>' + '<p>Lorem ipsum dolor sit amet. '.repeat(40)

async function setup (t: Test) {
  const dir = t.testdir({
    site: {
      'index.html': page,
      posts: { 'hello.html': page, 'plain.html': page },
      'forced.html': '<p>never served: a forced rule answers</p>',
      _redirects: '/forced /posts/hello 302!\n/posts/plain /elsewhere 301\n',
      _headers: [
        '/*',
        '  X-Robots-Tag: noindex',
        '/posts/*',
        '  Cache-Control: public, max-age=60',
        '  ! Content-Security-Policy',
        '  Link: </posts/>; rel="index"',
        '/posts/hello',
        '  X-Robots-Tag: nosnippet'
      ].join('\n')
    }
  })
  const dev = await ensureDevCertificate(devCertDir(process.env))
  const app = await buildApp({
    root: join(dir, 'site'),
    logger: pino({ level: 'silent' }),
    tls: { cert: readFileSync(dev.certPath), key: readFileSync(dev.keyPath) },
    fileCacheRevalidateMs: 60_000
  })
  t.teardown(() => app.close())
  let fastify = 0
  app.addHook('onRequest', (_request, _reply, done) => {
    fastify++
    done()
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const ca = readFileSync(dev.caPath)
  const agents = { 'HTTP/1.1': new Agent({ connect: { ca } }), 'HTTP/2': new Agent({ connect: { ca }, allowH2: true }) }
  t.teardown(() => Promise.all(Object.values(agents).map((a) => a.close())))
  const ask = async (agent: Agent, path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') => {
    const res = await request(`https://127.0.0.1:${address.port}${path}`, { dispatcher: agent, headers, method })
    const body = Buffer.from(await res.body.arrayBuffer())
    const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...rest } = res.headers
    return { status: res.statusCode, headers: Object.entries(rest), body }
  }
  return { agents, ask, fastifyRequests: () => fastify }
}

t.test('the fast paths send the edited headers, in Fastify\'s order, from a lookup', async (t) => {
  const s = await setup(t)
  for (const [protocol, agent] of Object.entries(s.agents)) {
    const first = await s.ask(agent, '/posts/hello')
    let warm = await s.ask(agent, '/posts/hello', { 'accept-encoding': 'br, gzip' })
    for (let i = 0; i < 200 && !warm.headers.some(([n, v]) => n === 'content-encoding' && v === 'br'); i++) warm = await s.ask(agent, '/posts/hello', { 'accept-encoding': 'br, gzip' })
    const etag = String(first.headers.find(([name]) => name === 'etag')?.[1])
    t.same(first.headers.filter(([name]) => ['x-robots-tag', 'cache-control', 'link', 'content-security-policy'].includes(name)), [
      ['cache-control', 'public, max-age=60'],
      ['x-robots-tag', 'noindex, nosnippet'],
      ['link', '</posts/>; rel="index"']
    ], `${protocol}: the blocks add up, replace seraph's Cache-Control and remove the CSP`)
    const cases: Array<[string, Record<string, string>, 'GET' | 'HEAD']> = [
      ['identity', {}, 'GET'],
      ['brotli', { 'accept-encoding': 'br' }, 'GET'],
      ['gzip', { 'accept-encoding': 'gzip' }, 'GET'],
      ['HEAD', {}, 'HEAD'],
      ['304', { 'if-none-match': etag }, 'GET']
    ]
    for (const [name, headers, method] of cases) {
      const before = s.fastifyRequests()
      const fast = await s.ask(agent, '/posts/hello', headers, method)
      t.equal(s.fastifyRequests(), before, `${protocol} ${name}: answered by the fast path`)
      const full = await s.ask(agent, '/posts/hello?via=fastify', headers, method)
      t.equal(s.fastifyRequests(), before + 1, `${protocol} ${name}: the query string went to Fastify`)
      t.equal(fast.status, full.status, `${protocol} ${name}: same status`)
      t.same(fast.headers, full.headers, `${protocol} ${name}: same headers in the same order`)
      t.ok(fast.body.equals(full.body), `${protocol} ${name}: same body`)
    }
    const root = await s.ask(agent, '/index.html')
    t.same(root.headers.filter(([name]) => name === 'x-robots-tag' || name === 'cache-control'), [['cache-control', 'public, max-age=300'], ['x-robots-tag', 'noindex']], `${protocol}: /* alone on the front page`)
  }
})

t.test('a page a forced rule matches is answered by the rule every time, never by the fast path', async (t) => {
  const s = await setup(t)
  for (const [protocol, agent] of Object.entries(s.agents)) {
    for (let i = 0; i < 3; i++) {
      const before = s.fastifyRequests()
      const res = await s.ask(agent, '/forced')
      t.equal(res.status, 302, `${protocol} #${i}: the rule's status`)
      t.same(res.headers.find(([name]) => name === 'location'), ['location', '/posts/hello'])
      t.equal(s.fastifyRequests(), before + 1, `${protocol} #${i}: through Fastify`)
    }
    // A rule without "!" where a file exists: the file, and the fast path once it is cached.
    t.equal((await s.ask(agent, '/posts/plain')).status, 200, `${protocol}: a file shadows a rule without !`)
    const before = s.fastifyRequests()
    t.equal((await s.ask(agent, '/posts/plain')).status, 200)
    t.equal(s.fastifyRequests(), before, `${protocol}: and takes the fast path`)
  }
})

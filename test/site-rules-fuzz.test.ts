import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Agent, request } from 'undici'
import { parseHeaders } from '../src/worker/site-rules/parse-headers.js'
import { parseRedirects } from '../src/worker/site-rules/parse-redirects.js'
import { devCa } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'

// Random `_redirects` and `_headers` lines — made of the pieces real rules
// are made of, and of the pieces that break parsers — never stop a worker
// nor make it answer 500: each line is used or skipped with a warning.
// Seeded, so a failure can be replayed: SERAPH_FUZZ_SEED=<seed>.

const seed = Number(process.env.SERAPH_FUZZ_SEED ?? 20260529)

/** mulberry32: a small seeded generator, the same sequence for the same seed. */
function generator (start: number): () => number {
  let a = start >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const pieces = [
  '/', '/a', '/blog/*', '/*', '*', '/:slug', ':splat', '/:year/:month', '/posts/:splat', '/x/:a/:a', '/%E2%82%AC', '%zz', '%2e%2e', '%2f', '%00',
  '/..', '../..', '/./', '//evil.example', 'https://example.com/:splat', 'http://[::1', 'https://:sub.example.com', '?q=:slug', '#frag',
  '301', '302', '303', '307', '308', '200', '404', '200!', '301!', '500', '0', '99999999999999999999', '!', '!!', 'Country=us', 'id=:id',
  '#', '# comment', '\t', '  ', '\u0000', '\u0001', '\r', 'é', '😀', '\uFEFF', '\\', '"', "'", '<', '>', '{', '}', '[', ']', '|', '^', '$', '(', ')', '+', '?',
  'X-Robots-Tag: noindex', '  Cache-Control: no-store', '  ! Content-Security-Policy', '! X-Frame-Options', 'Content-Length: 1', 'Bad Name: x',
  ': nothing', 'X-Empty:', '  Link: </a>; rel="x"', '  X-Movie: :title', 'Basic-Auth: u:p', '/.well-known/*', '/_redirects', '/_headers',
  'a'.repeat(300), '/' + 'b'.repeat(1200)
]

function randomLines (random: () => number, count: number): string[] {
  return Array.from({ length: count }, () => {
    const words = 1 + Math.floor(random() * 5)
    return Array.from({ length: words }, () => pieces[Math.floor(random() * pieces.length)]).join(random() < 0.8 ? ' ' : '')
  })
}

t.test('the parsers take any line: every one is a rule or a reported problem, nothing throws', async (t) => {
  const random = generator(seed)
  for (let round = 0; round < 20; round++) {
    const text = randomLines(random, 1000).join(random() < 0.5 ? '\n' : '\r\n')
    const redirects = parseRedirects(text)
    const headers = parseHeaders(text)
    t.ok(redirects.rules.length + redirects.problems.length <= 1000, `round ${round}: no more rules and problems than lines`)
    for (const problem of [...redirects.problems, ...headers.problems]) {
      if (!(Number.isInteger(problem.line) && problem.line >= 1 && problem.line <= 1000 && problem.reason.length > 0)) t.fail(`round ${round}: a problem without a line or reason: ${JSON.stringify(problem)}`)
    }
  }
  t.pass(`seed ${seed}`)
})

t.test('random rules files never stop the worker nor make it answer 500, over HTTP/1.1 and HTTP/2', async (t) => {
  const random = generator(seed + 1)
  const dir = t.testdir({ site: { 'index.html': '<p>home</p>', posts: { 'a.html': '<p>a</p>' }, '404.html': '<p>404</p>' } })
  const root = join(dir, 'site')
  const write = () => {
    writeFileSync(join(root, '_redirects'), randomLines(random, 400).join('\n'))
    writeFileSync(join(root, '_headers'), randomLines(random, 400).join('\n'))
  }
  write()
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '1', '--root', root])
  const [worker] = seraph.liveWorkerPids()
  const agents = [new Agent({ connect: { ca } }), new Agent({ connect: { ca }, allowH2: true })]
  t.teardown(() => Promise.all(agents.map((a) => a.close())))
  const fixed = ['/', '/a', '/blog/x/y', '/posts/a', '/2024/05', '/%E2%82%AC', '/x/1/2', '/_redirects', '/_headers', '/.well-known/x', '/é', '/a?b=c', '/blog/', '/index.html']
  // And paths made of the rules' own pieces, so that rules match.
  const slashed = pieces.filter((p) => /^\/[\w/:*.%-]*$/.test(p) && p.length < 100)
  const paths = [...fixed, ...Array.from({ length: 30 }, () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => slashed[Math.floor(random() * slashed.length)]).join('').replace(/[*:]/g, 'z'))]
  const statuses = new Set<number>()
  for (let round = 0; round < 3; round++) {
    if (round > 0) {
      const loaded = seraph.nextLine((l) => l.msg === 'site rules loaded' && l.file === '_headers', 'the rewritten _headers')
      write()
      await loaded
    }
    for (const agent of agents) {
      for (const path of paths) {
        const res = await request(`https://127.0.0.1:${port}${encodeURI(path).replace(/%25/g, '%')}`, { dispatcher: agent, method: random() < 0.2 ? 'HEAD' : 'GET' })
        await res.body.text()
        statuses.add(res.statusCode)
        if (res.statusCode >= 500) t.fail(`round ${round} ${path}: ${res.statusCode}`)
      }
    }
  }
  t.ok([...statuses].every((s) => [200, 206, 301, 302, 303, 304, 307, 308, 400, 404].includes(s)), `statuses seen: ${[...statuses].sort().join(', ')}`)
  t.same(seraph.liveWorkerPids(), [worker], 'the same worker serves throughout')
  t.same(seraph.lines.filter((l) => l.level >= 50).map((l) => l.msg), [], 'nothing logged as an error')
  t.ok(seraph.lines.some((l) => l.msg === 'site rule line skipped'), 'bad lines were reported')
  t.equal(seraph.badLines.length, 0, 'every log line is JSON')
  const health = await request(`https://127.0.0.1:${port}/healthz`, { dispatcher: agents[0] })
  t.equal(health.statusCode, 200)
  await health.body.text()
})

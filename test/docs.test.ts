import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import t from 'tap'
import { defaultText, helpText } from '../src/config/help-text.js'
import type { OptionSpec } from '../src/config/option-spec.js'
import { optionSpecs } from '../src/config/options.js'
import { packageRoot } from '../src/shared/package-info.js'
import { anchors, links, slug, tableRows } from './helpers/markdown.js'

// The docs are part of the product: what they promise about flags and links
// is checked here (every error code: test/errors.test.ts).

const read = (path: string): string => readFileSync(join(packageRoot, path), 'utf8')

function markdownFiles (dir: string): string[] {
  return readdirSync(join(packageRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return markdownFiles(path)
    return entry.name.endsWith('.md') ? [path] : []
  }).sort()
}

const docsPages = markdownFiles('docs')
const checkedFiles = ['README.md', 'bench/README.md', ...docsPages]

t.test('the slugger gives the anchors GitHub gives these headings', async (t) => {
  // Headings of the README before it became the front door, and the anchors its links used.
  t.equal(slug('Your own domain in one command'), 'your-own-domain-in-one-command')
  t.equal(slug('Several hosts behind a load balancer (`--store`)'), 'several-hosts-behind-a-load-balancer---store')
  t.equal(slug('Behind a TCP load balancer (PROXY protocol)'), 'behind-a-tcp-load-balancer-proxy-protocol')
  t.equal(slug('TLS sessions and ticket keys'), 'tls-sessions-and-ticket-keys')
  t.equal(slug('Rolling reload (`SIGHUP`)'), 'rolling-reload-sighup')
  t.equal(slug('Design in a few lines'), 'design-in-a-few-lines')
  t.equal(slug('Instructions per request (`npm run bench:instructions`)'), 'instructions-per-request-npm-run-benchinstructions')
  t.equal(slug('Results (2026-12-03, Node 24.21, one worker)'), 'results-2026-12-03-node-2421-one-worker')
  t.equal(slug('What autocannon really does with TLS (read this before the handshake numbers)'), 'what-autocannon-really-does-with-tls-read-this-before-the-handshake-numbers')
  t.equal(slug('`SERAPH_ERR_*` and [links](x.md)'), 'seraph_err_-and-links')
  t.same([...anchors('# A\n\n```sh\n# not a heading\n```\n\n## A\n## B\n### A\n')], ['a', 'a-1', 'b', 'a-2'])
})

t.test('every relative link in the README, bench/README.md and docs/ reaches a file, and its #anchor a heading', async (t) => {
  t.ok(docsPages.length >= 10, `docs/ has its pages (${docsPages.length})`)
  for (const file of checkedFiles) {
    const found = links(read(file))
    for (const { line, target } of found) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto:
      const [path = '', anchor] = target.split('#', 2)
      const where = `${file}:${line} → ${target}`
      const targetFile = path === '' ? join(packageRoot, file) : resolve(packageRoot, dirname(file), decodeURIComponent(path))
      t.ok(relative(packageRoot, targetFile).split('/')[0] !== '..', `${where}: inside the repository`)
      if (!existsSync(targetFile)) {
        t.fail(`${where}: no such file`)
        continue
      }
      if (anchor === undefined) continue
      t.ok(statSync(targetFile).isFile() && targetFile.endsWith('.md'), `${where}: an anchor into a Markdown file`)
      t.ok(anchors(readFileSync(targetFile, 'utf8')).has(anchor), `${where}: a heading with that anchor`)
    }
  }
})

t.test('a broken file, a broken anchor and a link in a code block are told apart', async (t) => {
  const sample = '# Title\n\nSee [there](#title), [gone](#nope), `[code](#nope)`.\n\n```\n[fenced](#nope)\n```\n'
  t.same(links(sample).map((l) => l.target), ['#title', '#nope'])
  t.ok(anchors(sample).has('title'))
  t.notOk(anchors(sample).has('nope'))
})

t.test('every docs page starts with one sentence on who it is for, then its title', async (t) => {
  for (const page of docsPages) {
    const [first = '', blank, title = ''] = read(page).split('\n')
    t.match(first, /^For [^\n]+\.$/, `${page}: line 1 says who it is for`)
    t.equal(blank, '', `${page}: line 2 is blank`)
    t.match(title, /^# \S/, `${page}: line 3 is its title`)
  }
})

t.test('the README is the front door: short, the two commands as they are, a link to every docs page', async (t) => {
  const readme = read('README.md')
  const lines = readme.split('\n').length
  t.ok(lines <= 250, `README.md has ${lines} lines (at most 250)`)
  t.match(readme, /^npm ci && npm start {5}# /m, 'npm ci && npm start')
  t.match(readme, /^npm test {16}# /m, 'npm test')
  const linked = new Set(links(readme).map((l) => l.target.split('#')[0]))
  for (const page of docsPages) t.ok(linked.has(page), `the README links ${page}`)
  t.ok(linked.has('bench/README.md'), 'the README links the bench manual')
})

t.test('docs/Reference/options.md has every flag of --help, with its variable and its default, and no other', async (t) => {
  const rows = tableRows(read('docs/Reference/options.md')).filter((cells) => cells[0]?.startsWith('`--'))
  const help = helpText('test')
  const listed = new Map(rows.map((cells) => [cells[0] as string, cells]))
  const specs = Object.values(optionSpecs) as OptionSpec[]
  for (const spec of specs) {
    const left = spec.placeholder === undefined ? spec.flag : `${spec.flag} ${spec.placeholder}`
    t.match(help, `\n  ${left} `, `--help has ${left}`)
    const cells = listed.get(`\`${left}\``)
    if (cells === undefined) {
      t.fail(`options.md has a row for \`${left}\``)
      continue
    }
    const [, variable = '', documented = ''] = cells
    if (spec.env === undefined) t.equal(variable, '', `${spec.flag} has no variable`)
    else t.match(variable, new RegExp(`^\`${spec.env}[\`=]`), `${spec.flag}: its variable ${spec.env}`)
    // The default as --help says it; `--workers` tells the machine's CPU count there.
    const said = defaultText(spec)?.replace(/ \(\d+ here\)$/, '') ?? ''
    t.equal(documented.replace(/`/g, ''), said, `${spec.flag}: the default --help states`)
  }
  const flags = new Set(specs.map((spec) => spec.placeholder === undefined ? `\`${spec.flag}\`` : `\`${spec.flag} ${spec.placeholder}\``))
  t.same([...listed.keys()].filter((flag) => !flags.has(flag)), [], 'no row for a flag seraph does not have')
})

import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import t from 'tap'
import { packageRoot } from '../src/shared/package-info.js'

// Every package the compiled file `entry` loads at start-up: its static
// imports, followed through seraph's own files (dynamic import() not).
function staticPackages (entry: string): Set<string> {
  const packages = new Set<string>()
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    for (const [, specifier] of source.matchAll(/^\s*(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?['"]([^'"]+)['"]/gm)) {
      if (specifier === undefined || specifier.startsWith('node:')) continue
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier))
      else packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0] as string)
    }
  }
  visit(entry)
  return packages
}

// Each costs its process memory only when its option asks for it (issue 14).
// prom-client: the primary and the workers keep plain counts until a scrape
// of the admin port (cluster-status.ts, worker/metrics.ts).
const optional = [
  { name: 'ioredis', option: '--store', processes: ['primary', 'worker'] },
  { name: 'acme-client', option: '--domain', processes: ['primary', 'worker'] },
  { name: 'prom-client', option: 'a scrape of --admin-port', processes: ['primary', 'worker'] }
]

for (const [process, entry] of [['primary', 'dist/src/cli.js'], ['worker', 'dist/workers/worker.js']] as const) {
  t.test(`the ${process} loads no optional package at start-up`, async (t) => {
    const packages = staticPackages(join(packageRoot, entry))
    t.ok(packages.has('pino'), `the walk follows seraph's imports (found: ${[...packages].join(', ')})`)
    for (const { name, option, processes } of optional) {
      if (processes.includes(process)) t.notOk(packages.has(name), `${name} is imported only with ${option}`)
    }
  })
}

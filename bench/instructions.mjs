#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench:instructions`: instructions per request of one worker of
 * seraph and of Node's floors, counted by valgrind's callgrind. CPU time on
 * a shared VM moves by 10-30 % between runs; an instruction count moves by
 * less than 0.1 %, so a change of 1 % in what a request executes shows. It
 * is not CPU time: the kernel's work (TLS records are written by the
 * kernel's socket code, but encrypted in user space and counted) and how
 * fast the CPU runs the instructions (caches, branches) are not in it.
 * See bench/README.md, "Instructions per request".
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { instructionContenders } from './contenders.mjs'
import { prepareContext } from './context.mjs'
import { processTree } from './cpu.mjs'
import { h2loadMissing } from './h2load.mjs'
import { parseIdList, parseScriptArgs, wholeNumber } from './options.mjs'
import { failWith, runBenchScript } from './script-lifecycle.mjs'
import { formatTable } from './table.mjs'

// autocannon ships no types: the part used here.
const autocannon = /** @type {(options: Record<string, unknown>) => Promise<{ requests: { total: number }, non2xx: number, errors: number }>} */ (
  createRequire(import.meta.url)('autocannon'))

const loads = /** @type {const} */ ({
  'small-page': { protocol: 'h1', title: 'HTTP/1.1 keep-alive, GET /index.html (autocannon, 20 connections)' },
  'h2-small-page': { protocol: 'h2', title: 'HTTP/2, GET /index.html (h2load, 32 connections × 10 streams)' }
})
/** @typedef {keyof typeof loads} LoadId */
const contenderIds = instructionContenders().map((c) => c.id)

const usage = `usage: npm run bench:instructions -- [--contenders id,id…] [--scenarios id,id] [--requests N] [--top K]
  --contenders  of: ${contenderIds.join(', ')} (default: all; ratios: the first ÷ each)
  --scenarios   of: ${Object.keys(loads).join(', ')} (default: both); each contender runs those of its protocol
  --requests    measured requests per run (default 5000), after 5000 of warm-up; counted as the
                difference between a run of 1000 and one of 1000 + N, so that the TLS
                handshakes of each run's new connections cancel out
  --top         also print the K functions whose own instructions differ most from the first contender's
Needs valgrind (apt-get install valgrind); HTTP/2 needs h2load (apt-get install nghttp2-client).
A run takes about 1-2 minutes per contender and scenario: valgrind runs node ~50× slower.
`

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const warmupRequests = 5000
const baseRequests = 1000

/** @type {(message: string) => never} An annotated const, so that TypeScript narrows after a call. */
const fail = failWith('bench:instructions')

function parseOptions () {
  const values = parseScriptArgs({
    contenders: { type: 'string' },
    scenarios: { type: 'string' },
    requests: { type: 'string', default: '5000' },
    top: { type: 'string', default: '0' }
  }, usage)
  const list = (/** @type {string | undefined} */ text, /** @type {string[]} */ known, /** @type {string} */ what) => {
    const ids = parseIdList(text, known, what, fail) ?? known
    if (ids.length === 0) fail(`--${what}s needs at least one id`)
    return ids
  }
  const requests = wholeNumber(values.requests, 'requests', 100, fail)
  const top = wholeNumber(values.top, 'top', 0, fail)
  return {
    contenders: list(values.contenders, contenderIds, 'contender'),
    scenarios: /** @type {LoadId[]} */ (list(values.scenarios, Object.keys(loads), 'scenario')),
    requests,
    top
  }
}

/**
 * Sends exactly `requests` requests for /index.html.
 * @param {LoadId} load
 * @param {number} port
 * @param {number} requests
 */
async function sendRequests (load, port, requests) {
  const url = `https://127.0.0.1:${port}/index.html`
  if (loads[load].protocol === 'h1') {
    const result = await autocannon({ url, connections: 20, pipelining: 1, amount: requests, timeout: 60 })
    if (result.errors > 0 || result.non2xx > 0 || result.requests.total < requests) {
      throw new Error(`autocannon: ${result.requests.total} of ${requests} requests, ${result.errors} errors, ${result.non2xx} not 2xx`)
    }
    return
  }
  const output = await new Promise((resolve, reject) => {
    const child = spawn('h2load', ['-n', String(requests), '-c', '32', '-m', '10', '-t', '1', url], { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => { text += chunk })
    child.on('error', reject)
    child.on('close', (code) => code === 0 ? resolve(text) : reject(new Error(`h2load exited with ${code}: ${text.slice(-300)}`)))
  })
  if (!/Application protocol: h2/.test(output) || !new RegExp(`${requests} succeeded`).test(output)) {
    throw new Error(`h2load did not complete ${requests} HTTP/2 requests: ${String(output).slice(-300)}`)
  }
}

/**
 * @param {string[]} args
 */
function callgrindControl (args) {
  const result = spawnSync('callgrind_control', args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`callgrind_control ${args.join(' ')}: ${result.stderr || result.stdout}`)
}

/**
 * Waits for callgrind's dump number `part` of `pid` in `dir` and returns its path.
 * @param {string} dir
 * @param {number} pid
 * @param {number} part
 */
async function dumpFile (dir, pid, part) {
  const path = join(dir, `cg.${pid}.out.${part}`)
  for (let i = 0; i < 600; i++) {
    if (existsSync(path) && /^totals: /m.test(readFileSync(path, 'utf8').slice(-4096))) return path
    await sleep(100)
  }
  throw new Error(`callgrind wrote no dump for pid ${pid}`)
}

/**
 * Instructions of each function itself (not its callees), by name; JIT code
 * named through node's --perf-basic-prof map.
 * @param {string} file
 * @param {number} pid
 * @returns {{ total: number, byFunction: Map<string, number> }}
 */
function readProfile (file, pid) {
  const text = readFileSync(file, 'utf8')
  const total = Number(/^summary: (\d+)/m.exec(text)?.[1] ?? Number.NaN)
  /** @type {Map<string, string>} */
  const names = new Map()
  /** @type {Map<string, number>} */
  const own = new Map()
  let fn = ''
  let callCost = false
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=') || line.startsWith('cfn=')) {
      const match = /^c?fn=\((\d+)\)(?: (.*))?$/.exec(line)
      const name = match === null ? line.slice(line.indexOf('=') + 1) : (match[2] ?? names.get(match[1] ?? '') ?? '')
      if (match !== null && match[2] !== undefined) names.set(match[1] ?? '', match[2])
      if (line.startsWith('fn=')) fn = name
    } else if (line.startsWith('calls=')) {
      callCost = true
    } else if (/^[\d+\-*]/.test(line)) {
      // The line after calls= is the callee's inclusive cost, not this function's own.
      if (callCost) callCost = false
      else own.set(fn, (own.get(fn) ?? 0) + Number(line.split(' ')[1] ?? 0))
    }
  }
  const jit = jitNames(pid)
  /** @type {Map<string, number>} */
  const byFunction = new Map()
  for (const [name, cost] of own) {
    const resolved = jit(name)
    byFunction.set(resolved, (byFunction.get(resolved) ?? 0) + cost)
  }
  return { total, byFunction }
}

/**
 * @param {number} pid
 * @returns {(name: string) => string} a JIT address (`0x…`) → the JavaScript function at it
 */
function jitNames (pid) {
  const path = `/tmp/perf-${pid}.map`
  if (!existsSync(path)) return (name) => name
  // The map only grows: code freed by the collector leaves its line, and new
  // code at the same address adds another. The later line is the live one.
  /** @type {Map<number, { start: number, end: number, name: string }>} */
  const byStart = new Map()
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [start, size, ...rest] = line.split(' ')
    if (start === undefined || size === undefined || rest.length === 0) continue
    const from = Number.parseInt(start, 16)
    byStart.set(from, { start: from, end: from + Number.parseInt(size, 16), name: rest.join(' ') })
  }
  const entries = [...byStart.values()].sort((a, b) => a.start - b.start)
  return (name) => {
    const match = /^0x([0-9a-f]+)$/.exec(name)
    if (match === null) return name
    const address = Number.parseInt(match[1] ?? '0', 16)
    // The entry with the largest start at or below the address.
    let lo = 0
    let hi = entries.length - 1
    let found
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const entry = entries[mid]
      if (entry === undefined) break
      if (entry.start <= address) {
        found = entry
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found !== undefined && address < found.end ? `JS ${found.name.replace(/file:\/\/\S*?\/dist\//, '')}` : name
  }
}

async function main (/** @type {string} */ tmpDir) {
  const options = parseOptions()
  const probe = spawnSync('valgrind', ['--version'], { encoding: 'utf8' })
  if (probe.status !== 0) fail('valgrind is not installed: apt-get install -y valgrind')
  const h2Missing = h2loadMissing()
  const cgDir = join(tmpDir, 'callgrind')
  mkdirSync(cgDir)
  const { ctx, build } = await prepareContext(repoRoot, tmpDir, 1)
  // --perf-basic-prof: node writes /tmp/perf-<pid>.map, which names JIT code.
  ctx.launcher = ['valgrind', '--tool=callgrind', '--trace-children=yes', '--dump-instr=no',
    `--callgrind-out-file=${join(cgDir, 'cg.%p.out')}`, '--log-file=/dev/null']
  ctx.readyTimeoutMs = 180_000
  const previousNodeOptions = process.env.NODE_OPTIONS
  process.env.NODE_OPTIONS = [previousNodeOptions ?? '', '--perf-basic-prof'].join(' ').trim()
  process.stderr.write(`seraph build ${build}; ${options.requests} requests per run after ${warmupRequests} of warm-up, one worker under callgrind\n`)
  /** @type {Result[]} */
  const results = []
  const chosen = instructionContenders().filter((c) => options.contenders.includes(c.id))
    .sort((a, b) => options.contenders.indexOf(a.id) - options.contenders.indexOf(b.id))
  for (const load of options.scenarios) {
    if (loads[load].protocol === 'h2' && h2Missing !== undefined) {
      process.stderr.write(`${h2Missing}\n`)
      continue
    }
    for (const contender of chosen.filter((c) => c.protocols.includes(loads[load].protocol))) {
      process.stderr.write(`${contender.label}, ${load}…\n`)
      // Before the start: node writes its map as soon as it runs.
      const mapsBefore = new Set(perfMaps())
      /** @type {import('./contenders.mjs').Running | undefined} */
      let running
      try {
        running = await contender.start(ctx)
        const primary = running.pid
        const workers = processTree(primary).filter((stat) => stat.ppid === primary)
        if (workers.length !== 1) throw new Error(`${contender.label}: expected one worker, found ${workers.length}`)
        const worker = /** @type {{ pid: number }} */ (workers[0]).pid
        await sendRequests(load, running.port, warmupRequests)
        // Every load run opens its connections anew (full TLS handshakes):
        // a short run and a long one, each counted from zero, and their
        // difference is what the extra requests cost, without the handshakes.
        callgrindControl(['--zero', String(worker)])
        await sendRequests(load, running.port, baseRequests)
        callgrindControl([`--dump=${load}-base`, String(worker)])
        const base = readProfile(await dumpFile(cgDir, worker, 1), worker)
        callgrindControl(['--zero', String(worker)])
        await sendRequests(load, running.port, baseRequests + options.requests)
        callgrindControl([`--dump=${load}`, String(worker)])
        const long = readProfile(await dumpFile(cgDir, worker, 2), worker)
        /** @type {Map<string, number>} */
        const byFunction = new Map()
        for (const [name, cost] of long.byFunction) byFunction.set(name, cost - (base.byFunction.get(name) ?? 0))
        for (const [name, cost] of base.byFunction) if (!long.byFunction.has(name)) byFunction.set(name, -cost)
        results.push({ contender: contender.label, load, perRequest: (long.total - base.total) / options.requests, unsteady: unsteadyShare(byFunction) / options.requests, byFunction })
      } finally {
        await running?.stop()
        rmSync(cgDir, { recursive: true, force: true })
        mkdirSync(cgDir)
        for (const map of perfMaps()) if (!mapsBefore.has(map)) rmSync(map, { force: true })
      }
    }
  }
  if (previousNodeOptions === undefined) delete process.env.NODE_OPTIONS
  else process.env.NODE_OPTIONS = previousNodeOptions
  report(results, options)
}

/**
 * @typedef {{ contender: string, load: LoadId, perRequest: number, unsteady: number, byFunction: Map<string, number> }} Result
 */

// V8's major collections (marking, sweeping, compaction) run every few tens
// of thousands of requests, and its optimizing compilers whenever a function
// gets hot or deoptimizes: a window holds one or none, and that moves its
// count by ±10 %. Their functions' own instructions, by name, are reported
// apart; the scavenges of the young generation come every few hundred
// requests and stay counted.
const unsteadyFunction = /ConcurrentMarking|MarkingVisitor|MarkingWorklist|MarkingBarrier|IncrementalMarking|MarkCompact|Sweeper|Evacuat|Compactor|v8::internal::compiler::|v8::internal::maglev::/

/**
 * @param {Map<string, number>} byFunction
 */
function unsteadyShare (byFunction) {
  let sum = 0
  for (const [name, cost] of byFunction) if (unsteadyFunction.test(name)) sum += cost
  return sum
}

/** The perf maps node wrote so far. */
function perfMaps () {
  return readdirSync('/tmp').filter((f) => /^perf-\d+\.map$/.test(f)).map((f) => join('/tmp', f))
}

/**
 * @param {Result[]} results
 * @param {{ requests: number, top: number }} options
 */
function report (results, options) {
  for (const load of /** @type {LoadId[]} */ (Object.keys(loads))) {
    const rows = results.filter((r) => r.load === load)
    const first = rows[0]
    if (first === undefined) continue
    process.stdout.write(`\n${loads[load].title}: instructions per request, one worker, all its threads (user space)\n`)
    const count = (/** @type {number} */ n) => Math.round(n).toLocaleString('en-US')
    const steady = (/** @type {Result} */ r) => r.perRequest - r.unsteady
    process.stdout.write(formatTable(['contender', 'instructions/request', 'of which major GC + JIT', 'steady part', `${first.contender} ÷ this (steady)`],
      rows.map((r) => [r.contender, count(r.perRequest), count(r.unsteady), count(steady(r)), (steady(first) / steady(r)).toFixed(2)])) + '\n')
    if (options.top === 0) continue
    for (const other of rows.slice(1)) {
      const names = new Set([...first.byFunction.keys(), ...other.byFunction.keys()])
      const diff = [...names].map((name) => ({
        name,
        a: (first.byFunction.get(name) ?? 0) / options.requests,
        b: (other.byFunction.get(name) ?? 0) / options.requests
      })).sort((x, y) => Math.abs(y.a - y.b) - Math.abs(x.a - x.b)).slice(0, options.top)
      process.stdout.write(`\nlargest differences, ${first.contender} against ${other.contender} (own instructions per request)\n`)
      process.stdout.write(formatTable(['function', first.contender, other.contender, 'difference'],
        diff.map((d) => [d.name.slice(0, 100), d.a.toFixed(0), d.b.toFixed(0), (d.a - d.b).toFixed(0)])) + '\n')
    }
  }
}

runBenchScript({ name: 'bench:instructions', folderPrefix: 'seraph-instructions-' }, main)

// @ts-check
/**
 * The HTTP/2 load generator: h2load from Debian's `nghttp2-client`
 * (autocannon speaks only HTTP/1.1). One thread, `connections` clients with
 * `streams` concurrent streams each, every path in turn, for `durationSec`.
 * h2load checks no certificate; it must negotiate h2 over ALPN, or the run
 * fails (a contender that cannot speak HTTP/2 is not measured in HTTP/2).
 *
 * h2load is a child process, so this process's cpuUsage() does not see its
 * CPU: it runs under `sh`, which prints its own /proc stat after h2load has
 * exited and been reaped, and the reaped child's CPU (cutime + cstime) is the
 * generator's. Latency percentiles come from h2load's per-request log.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { clockTicksPerSecond } from './cpu.mjs'

/**
 * @typedef {import('./scenarios.mjs').Scenario} Scenario
 * @typedef {import('./load.mjs').LoadResult} LoadResult
 */

/** @returns {string | undefined} why h2load cannot run here, or undefined */
export function h2loadMissing () {
  const probe = spawnSync('h2load', ['--version'], { encoding: 'utf8' })
  return probe.error === undefined && probe.status === 0 ? undefined : 'h2load not installed: HTTP/2 scenarios skipped (apt-get install nghttp2-client)'
}

/** @returns {string} */
export function h2loadVersion () {
  const probe = spawnSync('h2load', ['--version'], { encoding: 'utf8' })
  return /nghttp2\/(\S+)/.exec(probe.stdout ?? '')?.[1] ?? 'not installed'
}

/**
 * @param {{ port: number, scenario: Scenario, durationSec: number }} options
 * @returns {Promise<LoadResult>}
 */
export async function runH2load ({ port, scenario, durationSec }) {
  const dir = await mkdtemp(join(tmpdir(), 'seraph-h2load-'))
  try {
    const logFile = join(dir, 'requests.tsv')
    const args = ['-c', String(scenario.connections), '-m', String(scenario.streams ?? 10), '-t', '1',
      '-D', String(durationSec), '--log-file', logFile,
      ...scenario.paths.map((path) => `https://127.0.0.1:${port}${path}`)]
    const output = await run(args, (durationSec + 30) * 1000)
    const lines = output.trimEnd().split('\n')
    const stat = lines.pop() ?? ''
    const text = lines.join('\n')
    const protocol = /Application protocol: (\S+)/.exec(text)?.[1]
    if (protocol !== 'h2') throw new Error(`h2load did not negotiate h2 (${protocol ?? 'no protocol'}): ${text.slice(-300)}`)
    const seconds = Number(/finished in ([\d.]+)s/.exec(text)?.[1] ?? durationSec)
    const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text)
    const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text)
    const bytes = Number(/traffic: \S+ \((\d+)\) total/.exec(text)?.[1] ?? 0)
    if (requests === null || codes === null) throw new Error(`unexpected h2load output: ${text.slice(-300)}`)
    const done = Number(requests[3])
    const non2xx = Number(codes[2]) + Number(codes[3]) + Number(codes[4])
    const latencies = await latenciesMs(logFile)
    // /proc/<sh>/stat: fields 16 and 17 (cutime, cstime) are h2load's CPU.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const childTicks = Number(fields[13] ?? 0) + Number(fields[14] ?? 0)
    return {
      countedBy: 'h2load',
      durationSec: seconds,
      requests: done,
      reqPerSec: done / seconds,
      mbPerSec: bytes / seconds / 1e6,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      errors: Number(requests[6]) + Number(requests[7]),
      non2xx,
      // Every h2load client is one TLS connection for the whole run, never resumed.
      tlsConnections: scenario.connections,
      tlsResumed: 0,
      autocannonRequests: 0,
      generatorCpuSeconds: childTicks / clockTicksPerSecond()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * @param {string[]} args
 * @param {number} timeoutMs
 * @returns {Promise<string>} h2load's stdout, then one line: the stat of the `sh` that ran it
 */
function run (args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'h2load "$@" 2>&1; cat /proc/$$/stat', 'sh', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => { out += chunk })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`h2load exited with ${code}: ${out.slice(-300)}`))
    })
  })
}

/**
 * h2load's log: start time (µs since the epoch), status, duration (µs) per request.
 * @param {string} path
 * @returns {Promise<number[]>} sorted, milliseconds
 */
async function latenciesMs (path) {
  const text = await readFile(path, 'utf8').catch(() => '')
  const values = []
  for (const line of text.split('\n')) {
    const duration = Number(line.split('\t')[2])
    if (Number.isFinite(duration) && line !== '') values.push(duration / 1000)
  }
  return values.sort((a, b) => a - b)
}

/**
 * @param {number[]} sorted
 * @param {number} p
 */
function percentile (sorted, p) {
  if (sorted.length === 0) return 0
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return Math.round((sorted[Math.max(0, index)] ?? 0) * 10) / 10
}

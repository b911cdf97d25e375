import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { packageRoot } from '../../src/shared/package-info.js'
import { dieWithTest, killGroup, onTestExit } from './process-group.js'
import { checkoutUserEnv } from './worker-user.js'

/** The compiled CLI, exactly what `npm start` and the `seraph` bin run. */
export const cliPath = join(packageRoot, 'dist', 'src', 'cli.js')

export interface LogLine {
  readonly level: number
  readonly msg: string
  readonly role: 'primary' | 'worker'
  readonly pid: number
  readonly worker?: number
  readonly [field: string]: unknown
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv
  /** Node flags before the CLI path, e.g. `--import` of a test fixture. */
  readonly execArgv?: readonly string[]
  /** A command that runs node, e.g. `['setpriv', '--bounding-set=…']`. */
  readonly launcher?: readonly string[]
  /** Runs this instead of `node <CLI>`, e.g. `npm start --`; the args follow it. */
  readonly command?: readonly string[]
}

interface Teardown { teardown (fn: () => unknown): void }

/** A running `seraph` child process and everything it printed. */
export class SeraphProcess {
  readonly child: ChildProcess
  readonly lines: LogLine[] = []
  /** stdout lines that were not whole JSON objects: must stay empty. */
  readonly badLines: string[] = []
  stderr = ''
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /**
   * Like `exited`, once stdout and stderr have also ended: every line is then
   * in `lines` and `stderr`. 'exit' can come with the last lines still in the
   * pipe, and under `npm start` the pipe is shared with the launcher and seraph.
   */
  readonly closed: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  readonly #waiters = new Set<{ test: (line: LogLine) => boolean, resolve: (line: LogLine) => void }>()

  constructor (args: readonly string[], options: SpawnOptions = {}) {
    const [command, ...commandArgs] = [...dieWithTest, ...(options.command ?? [...(options.launcher ?? []), process.execPath, ...(options.execArgv ?? []), cliPath])]
    this.child = spawn(command as string, [...commandArgs, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: seraphNodeOptions(process.env.NODE_OPTIONS), ...checkoutUserEnv, ...options.env },
      // Its own process group: one kill reaches its workers too, and a
      // signal a test sends to the group never reaches the test itself.
      detached: true
    })
    const forget = onTestExit(() => this.killAll())
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })))
    this.closed = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })))
    // The exit hook stays until the group is empty: workers may outlive the primary.
    this.exited.then(() => waitUntilGone(this.#pids(), 30_000)).then((alive) => { if (alive.length === 0) forget() }, () => {})
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk })
    createInterface({ input: this.child.stdout! }).on('line', (text) => this.#onLine(text))
  }

  #onLine (text: string): void {
    let line: LogLine
    try {
      line = JSON.parse(text) as LogLine
    } catch {
      this.badLines.push(text)
      return
    }
    this.lines.push(line)
    for (const waiter of this.#waiters) {
      if (waiter.test(line)) {
        this.#waiters.delete(waiter)
        waiter.resolve(line)
      }
    }
  }

  /** Resolves with the first line (already printed or still to come) that passes `test`. */
  waitForLine (test: (line: LogLine) => boolean, description = 'log line', timeoutMs = 20_000): Promise<LogLine> {
    const found = this.lines.find(test)
    if (found !== undefined) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (line: LogLine) => {
          clearTimeout(timer)
          resolve(line)
        }
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter)
        reject(new Error(`timed out waiting for ${description}; stderr: ${this.stderr}`))
      }, timeoutMs)
      this.#waiters.add(waiter)
      // Not at 'exit': the line may still be in the pipe.
      this.closed.then(({ code }) => {
        if (!this.#waiters.has(waiter)) return
        this.#waiters.delete(waiter)
        clearTimeout(timer)
        reject(new Error(`seraph exited (${String(code)}) before ${description}; stderr: ${this.stderr}`))
      }, () => {})
    })
  }

  /** Waits for the first line after now that passes `test`. */
  nextLine (test: (line: LogLine) => boolean, description?: string, timeoutMs?: number): Promise<LogLine> {
    const seen = this.lines.length
    return this.waitForLine((line) => this.lines.indexOf(line) >= seen && test(line), description, timeoutMs)
  }

  /** Pids of every worker this primary ever forked. */
  workerPids (): number[] {
    return this.lines.filter((l) => l.msg === 'worker forked').map((l) => l.workerPid as number)
  }

  /** Pids of the workers that listen now and are not draining. */
  liveWorkerPids (): number[] {
    const gone = ['worker exited', 'worker died unexpectedly', 'worker draining']
    const exited = new Set(this.lines.filter((l) => l.role === 'primary' && gone.includes(l.msg)).map((l) => l.workerPid))
    return [...new Set(this.lines.filter((l) => l.msg === 'worker listening').map((l) => l.workerPid as number))]
      .filter((pid) => !exited.has(pid))
  }

  signal (signal: NodeJS.Signals): void {
    this.child.kill(signal)
  }

  /** Last resort for teardown and exit: nothing may outlive a test. */
  killAll (): void {
    // Groups first, so no member can fork a replacement before it dies.
    // A primary behind a launcher (npm start) may lead a group of its own.
    for (const pid of this.#groupLeaders()) killGroup(pid)
    for (const pid of this.#pids()) {
      if (isAlive(pid)) {
        try { process.kill(pid, 'SIGKILL') } catch {}
      }
    }
  }

  /** Pids of every seraph process this one printed: primary and workers. */
  seraphPids (): number[] {
    const primaries = this.lines.filter((l) => l.role === 'primary').map((l) => l.pid)
    return [...new Set([...primaries, ...this.workerPids()])]
  }

  #groupLeaders (): number[] {
    const primaries = this.lines.filter((l) => l.role === 'primary').map((l) => l.pid)
    return [...new Set([this.child.pid, ...primaries])].filter((pid) => pid !== undefined)
  }

  #pids (): number[] {
    return [...new Set([...this.#groupLeaders(), ...this.workerPids()])]
  }
}

export interface ReadyServer {
  readonly seraph: SeraphProcess
  readonly port: number
  readonly ready: LogLine
}

/** Starts seraph on 127.0.0.1 and a free port, and waits for its ready line. */
export async function startSeraph (t: Teardown, args: readonly string[] = [], options?: SpawnOptions): Promise<ReadyServer> {
  const seraph = new SeraphProcess(['--host', '127.0.0.1', '--port', '0', ...args], options)
  t.teardown(() => seraph.killAll())
  const ready = await seraph.waitForLine((line) => line.msg === 'ready', 'the ready line')
  return { seraph, port: ready.port as number, ready }
}

/** Runs seraph to its exit, for inputs that must make it fail. */
export async function runSeraph (t: Teardown, args: readonly string[], options?: SpawnOptions) {
  const seraph = new SeraphProcess(args, options)
  t.teardown(() => seraph.killAll())
  const timer = setTimeout(() => seraph.killAll(), 30_000)
  const { code, signal } = await seraph.closed
  clearTimeout(timer)
  return { code, signal, stderr: seraph.stderr, lines: seraph.lines, seraph }
}

/**
 * NODE_OPTIONS without the flags tap adds for type stripping on Node 22
 * (`--no-warnings --experimental-strip-types`): seraph runs as built
 * JavaScript, and its Node warnings must reach stderr as they do for users.
 */
export function seraphNodeOptions (nodeOptions: string | undefined): string | undefined {
  if (nodeOptions === undefined) return undefined
  return nodeOptions.split(/\s+/).filter((flag) => !/^"?--(no-warnings|experimental-strip-types)"?$/.test(flag)).join(' ')
}

/** True while `pid` runs; a zombie (exited, not yet reaped) counts as gone. */
export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] !== 'Z'
  } catch {
    return false
  }
}

/**
 * Resolves once none of `pids` runs any more. Polls /proc: these are the
 * primary's children (or orphans reaped by init), so no event tells us.
 */
export async function waitUntilGone (pids: readonly number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  let alive = pids.filter(isAlive)
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    alive = alive.filter(isAlive)
  }
  return alive
}

/**
 * The rolling reload's promise, read from the primary's lifecycle lines: each
 * old worker is told to drain only after its replacement listens. Returns
 * one message per broken pair, and how many pairs were checked.
 */
export function reloadOrder (lines: readonly LogLine[]): { checked: number, violations: string[] } {
  const primary = lines.filter((l) => l.role === 'primary')
  const at = (msg: string, pid: unknown): number => primary.findIndex((l) => l.msg === msg && l.workerPid === pid)
  const violations: string[] = []
  let checked = 0
  for (const forked of primary.filter((l) => l.msg === 'worker forked' && l.replacesPid !== undefined)) {
    const draining = at('worker draining', forked.replacesPid)
    if (draining === -1) continue
    checked++
    const listening = at('worker listening', forked.workerPid)
    if (listening === -1 || listening > draining) {
      violations.push(`worker ${String(forked.replacesPid)} was told to drain before its replacement ${String(forked.workerPid)} listened`)
    }
  }
  return { checked, violations }
}

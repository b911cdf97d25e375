// @ts-check
/**
 * Starting and stopping the servers under test: each runs in its own process
 * group, so stopping it (or a crash of the bench) can end it and every process
 * it forked without touching anything else on the machine.
 */
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * @typedef {object} Started
 * @property {string} name
 * @property {number} pid the process we spawned: the group leader
 * @property {string[]} lines every stdout line so far
 * @property {string[]} stderr the last stderr lines
 * @property {number | null} exitCode null while running
 * @property {Promise<void>} exited
 */

/** Process groups we started and have not seen exit yet. */
const live = new Set()

/**
 * Spawns a server as the leader of a new process group, collecting its output.
 * `stdoutFile`: write stdout to that file instead (a server's access log, as
 * in production), so the bench process does not read every line.
 * @param {{ name: string, command: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string, stdoutFile?: string }} spec
 * @returns {Started}
 */
export function startProcess (spec) {
  const stdoutFd = spec.stdoutFile === undefined ? undefined : openSync(spec.stdoutFile, 'a')
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe']
  })
  if (stdoutFd !== undefined) closeSync(stdoutFd)
  if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`)
  const pid = child.pid
  live.add(pid)
  /** @type {Started} */
  const started = {
    name: spec.name,
    pid,
    lines: [],
    stderr: [],
    exitCode: null,
    exited: new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        started.exitCode = code ?? (signal === null ? -1 : 128)
        resolve()
      })
    })
  }
  // A spawn error (ENOENT) emits 'error' and no 'exit'.
  child.once('error', (err) => {
    started.stderr.push(err.message)
    started.exitCode = -1
  })
  started.exited.then(() => { live.delete(pid) }, () => {})
  if (child.stdout !== null) createInterface({ input: child.stdout }).on('line', (line) => { started.lines.push(line) })
  if (child.stderr !== null) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      started.stderr.push(line)
      if (started.stderr.length > 20) started.stderr.shift()
    })
  }
  return started
}

/**
 * Polls `check` until it returns a value other than undefined; fails if the
 * process exits first or the time is up.
 * @template T
 * @param {Started} proc
 * @param {() => Promise<T | undefined> | T | undefined} check
 * @param {number} timeoutMs
 * @returns {Promise<T>}
 */
export async function waitUntil (proc, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (true) {
    if (proc.exitCode !== null) {
      throw new Error(`${proc.name} exited with code ${proc.exitCode} before it was ready: ${proc.stderr.join(' | ') || '(no stderr)'}`)
    }
    let value
    try {
      value = await check()
    } catch {
      value = undefined
    }
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${proc.name} was not ready after ${timeoutMs} ms: ${proc.stderr.join(' | ') || '(no stderr)'}`)
    await sleep(50)
  }
}

/**
 * Stops a server: `signal` to its leader, then SIGKILL to the whole group if it
 * has not exited within `graceMs`, then SIGKILL to the group in any case so no
 * orphaned worker survives it.
 * @param {Started} proc
 * @param {NodeJS.Signals} signal
 * @param {number} graceMs
 * @returns {Promise<boolean>} whether it exited on `signal` alone
 */
export async function stopProcess (proc, signal, graceMs) {
  let graceful = true
  if (proc.exitCode === null) {
    signalGroupLeader(proc.pid, signal)
    const timedOut = await Promise.race([proc.exited.then(() => false), sleep(graceMs).then(() => true)])
    if (timedOut) {
      graceful = false
      killGroup(proc.pid)
      await Promise.race([proc.exited, sleep(5000)])
    }
  }
  killGroup(proc.pid)
  live.delete(proc.pid)
  return graceful
}

/** Synchronous last resort (process 'exit', signals): SIGKILL every group still alive. */
export function killAllStarted () {
  for (const pid of live) killGroup(pid)
  live.clear()
}

/**
 * @param {number} pid
 * @param {NodeJS.Signals} signal
 */
function signalGroupLeader (pid, signal) {
  try {
    process.kill(pid, signal)
  } catch {}
}

/** @param {number} pid */
function killGroup (pid) {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {}
}

/**
 * A port that was free on 127.0.0.1 a moment ago (for servers that cannot
 * report the port they picked themselves).
 * @returns {Promise<number>}
 */
export function freePort () {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { resolve(port) })
    })
  })
}

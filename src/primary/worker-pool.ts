import cluster, { type Worker } from 'node:cluster'
import type { Logger } from '../shared/logger.js'
import { dispatch, type DispatchTable, type DrainMode, type PrimaryMessage, type WorkerMessage } from '../shared/messages.js'
import type { ListenHandle } from './listen-handle.js'
import { workerExecArgv } from '../../workers/exec-argv.js'

/** What the primary knows about one of its workers. */
export interface WorkerState {
  readonly worker: Worker
  readonly startedAt: number
  /** Bumped by every rolling reload; older workers are being replaced. */
  readonly generation: number
  /** Forked by a reload: if it fails to start, the reload is abandoned instead of retried. */
  readonly replacement: boolean
  listening: boolean
  draining: boolean
}

/** Builds the handlers of one worker's messages (the pool routes them). */
export type WorkerHandlers = (state: WorkerState) => DispatchTable<WorkerMessage>

/**
 * The primary's workers: forks them, routes their messages, knows which
 * listen, drains them and sends them typed messages — the one place that
 * calls `worker.send`, so a wrong `act` does not compile.
 */
export class WorkerPool {
  readonly #log: Logger
  readonly #handlers: WorkerHandlers
  readonly #workers = new Map<number, WorkerState>()
  readonly #listeners = new Map<number, (listening: boolean) => void>()
  // Workers that got their 'start': only they take the later state updates.
  readonly #started = new Set<number>()
  readonly #scheduled = new Set<NodeJS.Timeout>()

  /** `user`: the account the workers are forked as (the primary stays root); `undefined`: as the primary. */
  constructor (workerScript: string, log: Logger, handlers: WorkerHandlers, user?: { readonly uid: number, readonly gid: number }) {
    this.#log = log
    this.#handlers = handlers
    cluster.setupPrimary({
      exec: workerScript,
      execArgv: workerExecArgv(process.execArgv),
      args: [],
      silent: false,
      // libuv calls setgroups(0) before setgid/setuid in the child: no
      // supplementary group of root's survives into a worker.
      ...(user === undefined ? {} : { uid: user.uid, gid: user.gid })
    })
  }

  get size (): number {
    return this.#workers.size
  }

  all (): WorkerState[] {
    return [...this.#workers.values()]
  }

  get (worker: Worker): WorkerState | undefined {
    return this.#workers.get(worker.id)
  }

  has (state: WorkerState): boolean {
    return this.#workers.has(state.worker.id)
  }

  /** Listening and not draining: the workers that serve. */
  serving (): WorkerState[] {
    return this.all().filter((s) => s.listening && !s.draining)
  }

  /** `replaces`: the worker this one takes over from (dead, or to be drained by a reload). */
  fork (generation: number, replacement: boolean, replaces?: WorkerState): WorkerState {
    const worker = cluster.fork()
    const state: WorkerState = { worker, startedAt: Date.now(), generation, replacement, listening: false, draining: false }
    this.#workers.set(worker.id, state)
    this.#log.info({
      worker: worker.id,
      workerPid: worker.process.pid,
      generation,
      ...(replaces === undefined ? {} : { replaces: replaces.worker.id, replacesPid: replaces.worker.process.pid })
    }, 'worker forked')
    const handlers = this.#handlers(state)
    worker.on('message', (message: unknown) => { dispatch(handlers, message, undefined) })
    // A send to a worker that is exiting (killed, crashed) fails with EPIPE
    // on the channel; unheard, that error would take the primary down.
    worker.on('error', (err: NodeJS.ErrnoException) => {
      this.#log.debug({ worker: worker.id, workerPid: worker.process.pid, code: err.code }, 'IPC with an exiting worker failed')
    })
    return state
  }

  /** Replaces `dead` after `delayMs` (at once for 0), in the generation current then. */
  forkLater (delayMs: number, generation: () => number, dead: WorkerState): void {
    if (delayMs === 0) {
      this.fork(generation(), false, dead)
      return
    }
    const timer = setTimeout(() => {
      this.#scheduled.delete(timer)
      this.fork(generation(), false, dead)
    }, delayMs)
    this.#scheduled.add(timer)
  }

  cancelScheduledForks (): void {
    for (const timer of this.#scheduled) clearTimeout(timer)
    this.#scheduled.clear()
  }

  /** Sends `message` if the worker is still connected; `handle` travels with it (a listening socket). */
  send (state: WorkerState, message: PrimaryMessage, handle?: ListenHandle): void {
    if (!state.worker.isConnected()) return
    // node:cluster's types want a net.Server or Socket; the raw handle is what it passes on.
    if (handle === undefined) state.worker.send(message)
    else state.worker.send(message, handle as unknown as Parameters<Worker['send']>[1])
  }

  /** The 'start' message went out: from now on the worker takes state updates. */
  started (state: WorkerState): void {
    this.#started.add(state.worker.id)
  }

  /** To every connected worker, or only to those that got their 'start'. */
  broadcast (message: PrimaryMessage, only: 'all' | 'started' = 'all'): void {
    for (const state of this.#workers.values()) {
      if (only === 'all' || this.#started.has(state.worker.id)) this.send(state, message)
    }
  }

  /** Started and connected: who must confirm an ACME challenge. */
  startedWorkers (): WorkerState[] {
    return this.all().filter((s) => this.#started.has(s.worker.id) && s.worker.isConnected())
  }

  /** Resolves true once the worker listens, false if it exits first. */
  listening (state: WorkerState): Promise<boolean> {
    if (state.listening) return Promise.resolve(true)
    return new Promise((resolve) => this.#listeners.set(state.worker.id, resolve))
  }

  markListening (state: WorkerState): void {
    state.listening = true
    this.#log.info({ worker: state.worker.id, workerPid: state.worker.process.pid, generation: state.generation }, 'worker listening')
    this.#settle(state.worker.id, true)
  }

  drain (state: WorkerState, mode: DrainMode, force: boolean): void {
    if (!state.draining) this.#log.info({ worker: state.worker.id, workerPid: state.worker.process.pid, mode }, 'worker draining')
    state.draining = true
    this.send(state, { act: 'shutdown', force, mode })
  }

  /** Forgets an exited worker; returns what the pool knew of it. */
  remove (worker: Worker): WorkerState | undefined {
    const state = this.#workers.get(worker.id)
    if (state === undefined) return undefined
    this.#workers.delete(worker.id)
    this.#started.delete(worker.id)
    this.#settle(worker.id, false)
    return state
  }

  killAll (): void {
    for (const { worker } of this.#workers.values()) {
      this.#log.error({ worker: worker.id, workerPid: worker.process.pid }, 'worker missed its shutdown deadline; killing it')
      worker.process.kill('SIGKILL')
    }
  }

  #settle (id: number, listening: boolean): void {
    this.#listeners.get(id)?.(listening)
    this.#listeners.delete(id)
  }
}

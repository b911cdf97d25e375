import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { dieWithTest, killGroup, onTestExit } from './process-group.js'
import { stablePort } from './stable-port.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface RedisServer {
  readonly port: number
  /** redis://127.0.0.1:PORT/DB */
  url (db?: number): string
  /** SIGKILLs the server (its data is gone: it keeps none on disk). */
  kill (): Promise<void>
  /** Starts it again on the same port; resolves when it accepts connections. */
  restart (): Promise<void>
  /** SIGSTOP / SIGCONT: a server that accepts connections and never answers. */
  freeze (): void
  thaw (): void
}

/**
 * Starts Debian's `redis-server` on a free loopback port, in memory only, in
 * its own process group; killed in teardown and when the test process dies.
 */
export async function startRedis (t: Teardown): Promise<RedisServer> {
  let port = await stablePort()
  let child: ChildProcess | undefined
  let forget = (): void => {}
  const stop = (): void => {
    killGroup(child?.pid)
    forget()
  }
  const launch = async (): Promise<void> => {
    const argv = [...dieWithTest, 'redis-server', '--port', String(port), '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'no', '--loglevel', 'notice']
    const started = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'inherit'] })
    child = started
    forget = onTestExit(() => killGroup(started.pid))
    const lines = createInterface({ input: started.stdout! })
    let output = ''
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        output += `${line}\n`
        if (/Ready to accept connections/.test(line)) resolve()
      })
      started.once('exit', (code) => reject(new Error(`redis-server exited with ${String(code)} before it was ready: ${output}`)))
    })
  }
  t.teardown(stop)
  // The port is picked free, then bound by redis-server: another test's
  // explicit bind could take it in between; then again on another.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch()
      break
    } catch (err) {
      forget()
      if (attempt >= 5 || !/Address already in use/i.test((err as Error).message)) throw err
      port = await stablePort()
    }
  }
  return {
    port,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    async kill () {
      const current = child
      if (current === undefined || current.exitCode !== null || current.signalCode !== null) return
      const exited = once(current, 'exit')
      stop()
      await exited
    },
    restart: launch,
    freeze: () => { if (child?.pid !== undefined) process.kill(child.pid, 'SIGSTOP') },
    thaw: () => { if (child?.pid !== undefined) process.kill(child.pid, 'SIGCONT') }
  }
}

import { execFile } from 'node:child_process'
import type { Logger } from '../shared/logger.js'

/**
 * sd_notify(3) for a `Type=notify` unit: tells systemd seraph is ready (every
 * worker listens) or stopping. Node cannot send on a unix datagram socket
 * (dgram speaks UDP only, libuv has none: libuv/libuv#2537; the unix-dgram
 * addon needs node-gyp), so Debian's systemd-notify(1) sends it; `--pid` names the primary as the service's main process, and the
 * unit needs `NotifyAccess=all` since the sender is a child. systemd-notify
 * waits for systemd to take the message (BARRIER=1), so its exit cannot race
 * systemd's look-up of the sender. Nothing happens without NOTIFY_SOCKET.
 */
export function notifyServiceManager (log: Logger, state: 'ready' | 'stopping', status: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (env.NOTIFY_SOCKET === undefined || env.NOTIFY_SOCKET === '') return Promise.resolve()
  const args = [state === 'ready' ? '--ready' : 'STOPPING=1', `--pid=${process.pid}`, `--status=${status}`]
  return new Promise((resolve) => {
    execFile('systemd-notify', args, { env, timeout: 10_000 }, (err) => {
      if (err !== null) log.warn({ error: err.message, notifySocket: env.NOTIFY_SOCKET }, 'could not tell systemd (systemd-notify); the unit will not see seraph ready')
      resolve()
    })
  })
}

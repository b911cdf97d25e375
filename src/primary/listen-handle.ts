import { lookup } from 'node:dns/promises'
import net from 'node:net'
import { getSystemErrorName } from 'node:util'
import { SeraphError } from '../shared/errors.js'

/** libuv's TCP handle, as Node's net and cluster modules pass it around. */
export interface ListenHandle {
  getsockname (out: { address?: string, port?: number, family?: string }): number
  close (callback?: () => void): void
}

type CreateServerHandle = (address: string | null, port: number, addressType: number, fd?: number, flags?: number) => ListenHandle | number

// net._createServerHandle is what node:cluster's primary uses to bind the
// socket it shares with its workers; it binds without listening, so the primary
// never accepts a connection itself. Public since Node 0.x, untyped.
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle

export interface BoundSocket {
  readonly handle: ListenHandle
  readonly port: number
}

/**
 * Binds the listening socket once, in the primary. Workers receive the handle
 * and call listen(2) on it; the primary keeps its copy open for its whole life,
 * so the socket stays bound (and, once a worker listened, keeps queuing
 * connections in its backlog) while workers come and go.
 */
export async function bindListeningSocket (host: string | undefined, port: number, flag = '--port'): Promise<BoundSocket> {
  let address: string | null = null
  let addressType = -1
  if (host !== undefined) {
    addressType = net.isIP(host)
    address = host
    if (addressType === 0) {
      try {
        const found = await lookup(host)
        address = found.address
        addressType = found.family
      } catch {
        throw new SeraphError('SERAPH_ERR_HOST_UNAVAILABLE', host)
      }
    }
  }
  // With no address Node binds '::' (dual stack) and falls back to 0.0.0.0.
  const result = createServerHandle(address, port, addressType)
  if (typeof result === 'number') throw listenError(getSystemErrorName(result), host, port, flag)
  const out: { port?: number } = {}
  const err = result.getsockname(out)
  if (err !== 0) {
    result.close()
    throw listenError(getSystemErrorName(err), host, port, flag)
  }
  return { handle: result, port: out.port ?? port }
}

/**
 * A listening socket systemd passed (socket activation), by its descriptor:
 * the primary keeps it and hands it to the workers as one it bound itself.
 * `variable` names what passed it, for the error.
 */
export function adoptListeningSocket (fd: number, count: string): BoundSocket {
  let result: ListenHandle | number
  try {
    result = createServerHandle(null, 0, -1, fd)
  } catch {
    // Node opens only sockets and pipes (ERR_INVALID_FD_TYPE for a file).
    result = -1
  }
  const out: { port?: number } = {}
  // A unix socket's handle (a Pipe) has no getsockname: seraph serves TCP only.
  if (typeof result === 'number' || typeof result.getsockname !== 'function' || result.getsockname(out) !== 0 || out.port === undefined) {
    if (typeof result !== 'number') result.close()
    throw new SeraphError('SERAPH_ERR_SOCKET_ACTIVATION', 'LISTEN_FDS', count, `file descriptor ${fd} is not a TCP socket`)
  }
  return { handle: result, port: out.port }
}

/** The operator-facing error for a failed bind(2) or listen(2). */
export function listenError (errno: string, host: string | undefined, port: number, flag = '--port'): SeraphError {
  const where = `${host ?? '*'}:${port}`
  switch (errno) {
    case 'EADDRINUSE': return new SeraphError('SERAPH_ERR_PORT_IN_USE', flag, port, where)
    case 'EACCES':
    case 'EPERM': return new SeraphError('SERAPH_ERR_PORT_PERMISSION', flag, port, where)
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT': return new SeraphError('SERAPH_ERR_HOST_UNAVAILABLE', host ?? '*')
    default: return new SeraphError('SERAPH_ERR_LISTEN_FAILED', flag, port, where, errno)
  }
}

/** The URL to print for the listening socket: `localhost` stands for a wildcard address. */
export function publicUrl (host: string | undefined, port: number): string {
  const wildcard = host === undefined || host === '0.0.0.0' || host === '::'
  const name = wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `https://${name}:${port}/`
}

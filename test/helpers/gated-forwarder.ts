import { connect, createServer, type Socket } from 'node:net'
import { startPebble, type Pebble, type PebbleOptions } from './pebble.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface GatedForwarder {
  readonly port: number
  /** Connections accepted so far. */
  connections (): number
  /** Where every connection goes (those waiting and all later ones); the first call wins. */
  release (to: { readonly port: number, readonly localAddress?: string }): void
}

/**
 * A TCP forwarder on `host` (127.0.0.1), to the same host, whose connections wait until the test says
 * where they go: pebble's validation connections then reach the host (or
 * the HAProxy frontend) the test picks, when it picks it.
 */
export async function gatedForwarder (t: Teardown, host = '127.0.0.1'): Promise<GatedForwarder> {
  let release: GatedForwarder['release'] = () => {}
  const target = new Promise<{ readonly port: number, readonly localAddress?: string }>((resolve) => { release = resolve })
  let connections = 0
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    connections++
    sockets.add(client)
    client.pause()
    client.on('error', () => {})
    client.on('close', () => sockets.delete(client))
    target.then(({ port, localAddress }) => {
      if (client.destroyed) return
      const upstream = connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) })
      sockets.add(upstream)
      upstream.on('error', () => client.destroy())
      upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
      client.on('close', () => upstream.destroy())
      client.pipe(upstream).pipe(client)
      client.resume()
    }, () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const { port } = server.address() as { port: number }
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return { port, connections: () => connections, release: (to) => release(to) }
}

/** {@link startPebble}'s CA whose validations wait for {@link PebbleReaching.reach}. */
export interface PebbleReaching extends Pebble {
  /** Sends every HTTP-01 validation to `redirectPort` and every TLS-ALPN-01 one to `port` (seraph's, read from its ready line). */
  reach (seraph: { readonly port: number, readonly redirectPort?: number }): void
}

/**
 * pebble for one seraph that listens on port 0: its validation connections
 * wait in two gated forwarders until the test names seraph's ports. Picking
 * free ports for seraph before it starts raced with other tests' processes
 * (SERAPH_ERR_PORT_IN_USE in CI).
 */
export async function startPebbleReaching (t: Teardown, options: Omit<PebbleOptions, 'httpPort' | 'tlsPort'> = {}, host = '127.0.0.1'): Promise<PebbleReaching> {
  // `host`: where pebble's validations arrive and seraph listens (`::1` for an IPv6 --domain).
  const http = await gatedForwarder(t, host)
  const tls = await gatedForwarder(t, host)
  const pebble = await startPebble(t, { ...options, httpPort: http.port, tlsPort: tls.port })
  return Object.assign(pebble, {
    reach ({ port, redirectPort }: { readonly port: number, readonly redirectPort?: number }) {
      tls.release({ port })
      if (redirectPort !== undefined) http.release({ port: redirectPort })
    }
  })
}

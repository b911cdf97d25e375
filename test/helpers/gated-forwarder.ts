import { connect, createServer, type Socket } from 'node:net'
import { freePort } from './pebble.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface GatedForwarder {
  readonly port: number
  /** Connections accepted so far. */
  connections (): number
  /** Where every connection goes (those waiting and all later ones); the first call wins. */
  release (to: { readonly port: number, readonly localAddress?: string }): void
}

/**
 * A TCP forwarder on 127.0.0.1 whose connections wait until the test says
 * where they go: pebble's validation connections then reach the host (or
 * the HAProxy frontend) the test picks, when it picks it.
 */
export async function gatedForwarder (t: Teardown): Promise<GatedForwarder> {
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
      const upstream = connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) })
      sockets.add(upstream)
      upstream.on('error', () => client.destroy())
      upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
      client.on('close', () => upstream.destroy())
      client.pipe(upstream).pipe(client)
      client.resume()
    }, () => {})
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return { port, connections: () => connections, release: (to) => release(to) }
}

import type { Socket } from 'node:net'
import type { ClientAddress } from './header.js'

// Keyed by the raw TCP socket the PROXY header arrived on. A WeakMap rather
// than a property: it goes with the socket, and no other code can set it.
const clients = new WeakMap<object, ClientAddress>()

/** Records the address a trusted proxy's header gave for `socket`'s client. */
export function setClientAddress (socket: Socket, client: ClientAddress): void {
  clients.set(socket, client)
}

/**
 * The client's address: the PROXY header's when one was accepted on this
 * connection, otherwise the peer's. Takes the raw socket, the TLS socket over
 * it (`_parent`), or HTTP/2's compatibility socket (a Proxy that forwards
 * `_parent` and `remoteAddress` to the session's TLS socket).
 */
export function clientAddress (socket: Socket | null | undefined): ClientAddress | undefined {
  if (socket === null || socket === undefined) return undefined
  const parent = (socket as { _parent?: Socket | null })._parent ?? undefined
  const known = clients.get(socket) ?? (parent === undefined ? undefined : clients.get(parent))
  if (known !== undefined) return known
  const address = socket.remoteAddress ?? parent?.remoteAddress
  if (address === undefined) return undefined
  return { address, port: socket.remotePort ?? parent?.remotePort ?? 0 }
}

/** `address:port` for the logs, `unknown` for a socket already gone. */
export function clientAddressText (socket: Socket | null | undefined): string {
  const client = clientAddress(socket)
  return client === undefined ? 'unknown' : `${client.address}:${client.port}`
}

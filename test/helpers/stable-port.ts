import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** The lowest port the kernel hands out for a port-0 bind or an outgoing connection. */
function ephemeralFloor (): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768
  } catch {
    return 32768
  }
}

/**
 * A free loopback port below the kernel's ephemeral range, for a server that
 * must be told its port and cannot take port 0 (Redis restarted on its port,
 * systemd-socket-activate): between the check and the server's own bind, a
 * port-0 bind or an outgoing connection of another test could take a port of
 * that range. The kernel never picks one below it, so only an explicit bind could.
 */
export async function stablePort (): Promise<number> {
  const floor = ephemeralFloor()
  // A range that starts among the privileged ports leaves no room: port 0.
  const lowest = floor > 2_048 ? Math.min(16_384, floor - 1_024) : 0
  for (;;) {
    const port = lowest === 0 ? 0 : lowest + Math.floor(Math.random() * (floor - lowest))
    const free = await new Promise<number | false>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => {
        const bound = (server.address() as { port: number }).port
        server.close(() => resolve(bound))
      })
    })
    if (free !== false) return free
  }
}

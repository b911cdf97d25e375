import type { Server as HttpServer } from 'node:http'

// Errors of listen(2) itself, told apart from every other start failure.
const listenFailures = new WeakSet<object>()

/** True for an error of listen(2) on the primary's socket (an address or permission problem). */
export function isListenFailure (err: unknown): boolean {
  return typeof err === 'object' && err !== null && listenFailures.has(err)
}

/** Listens on the socket handle the primary bound and sent. */
export function listenOn (server: HttpServer, handle: unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => {
      listenFailures.add(err)
      reject(err)
    }
    server.once('error', failed)
    server.listen(handle, () => {
      server.off('error', failed)
      resolve()
    })
  })
}

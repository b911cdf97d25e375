import type { ServerHttp2Session } from 'node:http2'

/** How long a late session may stay without a stream before its GOAWAY. */
const firstStreamWaitMs = 1000

/**
 * A connection accepted before the drain began but handshaken after it was
 * not among the sessions sent GOAWAY: its client would keep using it until
 * the drain deadline forced it closed, with requests in flight. The streams
 * that came with its first frames are served; then GOAWAY moves the client
 * to a new connection, as on every other session of the draining worker.
 */
export function goAwayAfterFirstStreams (session: ServerHttp2Session): void {
  const close = (): void => {
    clearTimeout(timer)
    if (!session.closed && !session.destroyed) session.close()
  }
  const timer = setTimeout(close, firstStreamWaitMs)
  // setImmediate: after every frame of the read that brought the first stream.
  session.once('stream', () => setImmediate(close))
}

import type { IncomingMessage } from 'node:http'

/**
 * The one drain rule of every HTTP/1.x response path (the fast path, Fastify,
 * the redirect listener): while the worker drains, a response carries
 * `Connection: close`, and Node ends its connection once that response is
 * complete. A connection is never closed at any other moment of a drain: one
 * whose last response promised keep-alive stays open, so the request the
 * client may already have sent on it gets a complete answer (with
 * `Connection: close`) instead of a closed socket — closing it after that
 * response lost one request per connection on every reload
 * (https://github.com/nodejs/node/issues/40071 describes the same race for
 * idle connections). Idle ones end at their keep-alive timeout, which the
 * client was told. HTTP/2 has no Connection header: the worker sends GOAWAY.
 */
export function closesWhileDraining (request: IncomingMessage, isDraining: (() => boolean) | undefined): boolean {
  return request.httpVersionMajor === 1 && isDraining !== undefined && isDraining()
}

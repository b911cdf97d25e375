/**
 * Why connections end: the causes and reasons counted by
 * seraph_connections_closed_total, and the error that tells which.
 */

/**
 * Why a connection ended. `reason` refines it: the OpenSSL reason of a TLS
 * error (`wrong version number`, `http request`, …), the kind of a timeout
 * (`handshake`, `headers`, `request`, `idle`, `socket`), the parser code of
 * an HTTP error (`HPE_INVALID_METHOD`, …) or what ended an HTTP/2 session
 * (`http2 flood`, `http2 protocol error`, …), what was wrong with a PROXY
 * protocol header (`missing`, `untrusted`, `malformed`, `too_long`,
 * `truncated`, `timeout`; see proxy-protocol/).
 */
export type CloseCause = 'normal' | 'client_closed' | 'client_reset' | 'timeout' | 'tls_error' | 'http_error' | 'proxy_protocol' | 'shutdown' | 'error'

export interface CloseRecord {
  readonly cause: CloseCause
  readonly reason: string
}

const resetCodes = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED'])

/**
 * The nghttp2 errors (nghttp2_strerror) that end a session of an abusive or
 * broken client, by a short reason; another one keeps its text, lower-cased:
 * nghttp2 has a fixed set, so the metric's labels stay few.
 */
const http2Reasons = new Map([
  ['Flooding was detected in this HTTP/2 session, and it must be closed', 'http2 flood'],
  ['Too many CONTINUATION frames following a HEADER frame', 'http2 continuation flood'],
  // Node's own limits answer this way: maxSessionRejectedStreams (streams
  // over SETTINGS_MAX_CONCURRENT_STREAMS) and maxSessionInvalidFrames.
  ['The user callback function failed', 'http2 too many refused streams or invalid frames'],
  ['Received bad client magic byte string', 'http2 bad preface'],
  ['Protocol error', 'http2 protocol error']
])

/** Maps a socket, TLS or HTTP parser error to a close cause. */
export function classify (error: NodeJS.ErrnoException & { reason?: string }, inRequest: boolean): CloseRecord {
  const code = error.code ?? ''
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return { cause: 'timeout', reason: 'handshake' }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { cause: 'timeout', reason: inRequest ? 'request' : 'headers' }
  if (code === 'ETIMEDOUT') return { cause: 'timeout', reason: 'socket' }
  if (resetCodes.has(code)) return { cause: 'client_reset', reason: '' }
  // Parser errors carry a `reason` too: tell them apart before TLS's.
  if (code === 'HPE_INVALID_EOF_STATE') return { cause: 'client_closed', reason: 'during request' }
  if (code.startsWith('HPE_')) return { cause: 'http_error', reason: code }
  if (code === 'ERR_HTTP2_ERROR') return { cause: 'http_error', reason: http2Reasons.get(error.message) ?? error.message.toLowerCase() }
  // The client's GOAWAY named an error: its code is the client's, and any 32-bit number.
  if (code === 'ERR_HTTP2_SESSION_ERROR') return { cause: 'client_closed', reason: 'http2 goaway with an error' }
  // Node's own limits (ERR_HTTP2_TOO_MANY_INVALID_FRAMES: maxSessionInvalidFrames, …).
  if (code.startsWith('ERR_HTTP2_')) return { cause: 'http_error', reason: code }
  if (code.startsWith('ERR_SSL_') || error.reason !== undefined) {
    return { cause: 'tls_error', reason: error.reason ?? code.slice('ERR_SSL_'.length).toLowerCase().replace(/_/g, ' ') }
  }
  return { cause: 'error', reason: code }
}

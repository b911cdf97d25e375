import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { chooseEncoding, type Encoding } from './content-coding.js'
import type { CachedFile } from './file-cache.js'
import { applyEdit, type HeaderEdit } from './site-rules/header-edit.js'

/**
 * The answer to a GET or HEAD of a file held in memory (file-cache.ts), for
 * every path that sends one: the fast paths (fast-path.ts, http2-fast-path.ts) and Fastify's
 * handler (static-files.ts). All take status, headers and body from here, so
 * they cannot drift apart (test/caching.test.ts and test/http2-fast-path.test.ts compare them). The drain
 * rule stays in drain-rule.ts: it applies to every response, not only these.
 */

export type { Encoding } from './content-coding.js'

export interface CachedAnswer {
  readonly status: 200 | 304
  /** The security headers included; never to be modified (they are shared by every answer for this file version). */
  readonly headers: Readonly<OutgoingHttpHeaders>
  /** The bytes of a 200 in its encoding; undefined for a 304. */
  readonly body: Buffer | undefined
}

/** {@link CachedAnswer} for the HTTP/2 stream API: the same headers, `:status` first, also as a flat name/value list. */
export interface CachedHttp2Answer extends CachedAnswer {
  /** Never to be modified either: stream.respond() appends `date` to the array it gets, so it gets a copy. */
  readonly rawHeaders: readonly string[]
}

/**
 * {@link CachedAnswer} for the HTTP/1.1 fast path (fast-path.ts): the same
 * headers as a flat name/value list for `response.writeHead(status, list)`.
 */
export interface CachedHttp1Answer extends CachedAnswer {
  /**
   * Never to be modified: shared by every answer for this file version and
   * variant. writeHead() reads it and keeps no reference (Node adds `date`
   * to the header block it writes, not to the list: the date stays fresh).
   */
  readonly rawHeaders: readonly string[]
}

type Variant = Encoding | 'not-modified'
interface PreparedForFile extends Partial<Record<Variant, OutgoingHttpHeaders>> {
  /** The HTTP/1.1 fast path's answers. */
  h1?: Partial<Record<Variant, CachedHttp1Answer>>
  /** The HTTP/2 fast path's answers, `:status` in their headers. */
  h2?: Partial<Record<Variant, CachedHttp2Answer>>
  /** The same, per `_headers` edit (site-rules/header-edit.ts) of the paths this file is served at. */
  edited?: Map<HeaderEdit, PreparedForFile>
}

// A file served at many paths whose header values differ per path
// (placeholders in `_headers`) would hold an answer set per path: past this
// many edits, further ones are applied per request instead of kept.
const maxEditsPerFile = 64

export class CachedResponses {
  readonly #commonHeaders: Readonly<Record<string, string>>
  // A new file version is a new CachedFile object: its headers are prepared
  // once, on its first answer in each variant, and go with it.
  readonly #prepared = new WeakMap<CachedFile, PreparedForFile>()

  /** `commonHeaders`: what every response carries (security-headers.ts). */
  constructor (commonHeaders: Readonly<Record<string, string>>) {
    this.#commonHeaders = commonHeaders
  }

  /** `edit`: what `_headers` does at the request's path (none: seraph's headers as they are). */
  answer (request: IncomingHttpHeaders, file: CachedFile, edit?: HeaderEdit): CachedAnswer {
    if (isNotModified(request, file)) return { status: 304, headers: this.#headersFor(file, 'not-modified', edit), body: undefined }
    const encoding = chooseEncoding(file, request['accept-encoding'])
    return { status: 200, headers: this.#headersFor(file, encoding, edit), body: bodyOf(file, encoding) }
  }

  /**
   * The same answer for the HTTP/1.1 fast path, whole: status, headers as a
   * flat list and body are prepared once per file version, variant and
   * `_headers` edit, so a request costs no header object, no spread and no
   * walk over an object's keys (Node's writeHead takes the list as it is:
   * `_storeHeader` in lib/_http_outgoing.js).
   */
  answerHttp1 (request: IncomingHttpHeaders, file: CachedFile, edit?: HeaderEdit): CachedHttp1Answer {
    const variant = isNotModified(request, file) ? 'not-modified' : chooseEncoding(file, request['accept-encoding'])
    const forFile = this.#preparedFor(file, edit)
    forFile.h1 ??= {}
    let answer = forFile.h1[variant]
    if (answer === undefined) {
      const headers = this.#headersFor(file, variant, edit)
      answer = {
        status: variant === 'not-modified' ? 304 : 200,
        headers,
        rawHeaders: flatten(headers),
        body: variant === 'not-modified' ? undefined : bodyOf(file, variant)
      }
      forFile.h1[variant] = answer
    }
    return answer
  }

  /**
   * The same answer for stream.respond() (http2-fast-path.ts): the headers
   * carry `:status`, so the stream API takes them as they are. They are
   * prepared once per file version and variant like the others, in the same
   * order; names are lower-case and there is no connection-specific header
   * (RFC 9113 §8.2.2), so HPACK finds each field in its dynamic table.
   */
  answerHttp2 (request: IncomingHttpHeaders, file: CachedFile, edit?: HeaderEdit): CachedHttp2Answer {
    if (isNotModified(request, file)) return this.#http2AnswerFor(file, 'not-modified', edit)
    return this.#http2AnswerFor(file, chooseEncoding(file, request['accept-encoding']), edit)
  }

  // The whole answer is fixed per file version and variant: built once, it
  // costs a request no allocation.
  #http2AnswerFor (file: CachedFile, variant: Variant, edit: HeaderEdit | undefined): CachedHttp2Answer {
    const forFile = this.#preparedFor(file, edit)
    forFile.h2 ??= {}
    let answer = forFile.h2[variant]
    if (answer === undefined) {
      const status = variant === 'not-modified' ? 304 : 200
      const headers = { ':status': status, ...this.#headersFor(file, variant, edit) }
      const rawHeaders = flatten(headers)
      answer = { status, headers, rawHeaders, body: variant === 'not-modified' ? undefined : bodyOf(file, variant) }
      forFile.h2[variant] = answer
    }
    return answer
  }

  #preparedFor (file: CachedFile, edit: HeaderEdit | undefined): PreparedForFile {
    let forFile = this.#prepared.get(file)
    if (forFile === undefined) {
      forFile = {}
      this.#prepared.set(file, forFile)
    }
    if (edit === undefined) return forFile
    forFile.edited ??= new Map()
    let forEdit = forFile.edited.get(edit)
    if (forEdit === undefined) {
      forEdit = {}
      if (forFile.edited.size < maxEditsPerFile) forFile.edited.set(edit, forEdit)
    }
    return forEdit
  }

  #headersFor (file: CachedFile, variant: Variant, edit: HeaderEdit | undefined): OutgoingHttpHeaders {
    const forFile = this.#preparedFor(file, edit)
    let headers = forFile[variant]
    if (headers === undefined && edit !== undefined) {
      headers = applyEdit(this.#headersFor(file, variant, undefined), edit, variant === 'not-modified' ? 304 : 200)
      forFile[variant] = headers
    }
    if (headers === undefined) {
      headers = {
        ...this.#commonHeaders,
        'cache-control': file.cacheControl,
        'last-modified': file.lastModified,
        etag: file.etag,
        'accept-ranges': 'bytes',
        // A 304 describes no body: no type, length or encoding (RFC 9110 §15.4.5).
        ...(variant === 'not-modified' ? {} : { 'content-type': file.contentType, 'content-length': String(bodyOf(file, variant).length) }),
        ...(file.compressible ? { vary: 'Accept-Encoding' } : {}),
        ...(variant === 'not-modified' || variant === 'identity' ? {} : { 'content-encoding': variant })
      }
      forFile[variant] = headers
    }
    return headers
  }
}

/**
 * `headers` as a flat name/value list, in their order. A list value (never
 * made by seraph's headers or `_headers` edits, whose values are strings)
 * would become one pair per value, as Node sends it from a header object.
 */
function flatten (headers: Readonly<OutgoingHttpHeaders>): string[] {
  const list: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const one of value) list.push(name, one)
    else list.push(name, String(value))
  }
  return list
}

function bodyOf (file: CachedFile, encoding: Encoding): Buffer {
  // chooseEncoding picks a compressed encoding only when that variant exists.
  return encoding === 'identity' ? file.body : file[encoding] as Buffer
}

/** RFC 9110 §13.1.3: If-None-Match (weak comparison) wins over If-Modified-Since. */
export function isNotModified (request: IncomingHttpHeaders, file: CachedFile): boolean {
  const noneMatch = request['if-none-match']
  if (typeof noneMatch === 'string') {
    return noneMatch.trim() === '*' || noneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag)
  }
  const since = request['if-modified-since']
  if (typeof since !== 'string') return false
  const date = Date.parse(since)
  return !Number.isNaN(date) && Math.floor(file.mtimeMs / 1000) * 1000 <= date
}

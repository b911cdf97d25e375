import type { CachedFile } from './file-cache.js'

/** What a cached file can be sent as (file-cache.ts makes the variants). */
export type Encoding = 'identity' | 'br' | 'gzip' | 'zstd'

const compressedEncodings = ['br', 'zstd', 'gzip'] as const

/**
 * The variant of `file` to send: among those the client accepts with the
 * highest q-value (RFC 9110 §12.5.3), the smallest; none when it accepts
 * none, or when it explicitly prefers `identity`. Browsers accept every
 * encoding equally (`gzip, deflate, br, zstd`), so size decides: brotli 11
 * usually beats zstd 19 on small text, and zstd may lose to gzip.
 */
export function chooseEncoding (file: CachedFile, acceptEncoding: string | undefined): Encoding {
  if (acceptEncoding === undefined) return 'identity'
  const accepted = parseAcceptEncoding(acceptEncoding)
  const any = accepted.get('*') ?? 0
  let chosen: Encoding = 'identity'
  let chosenQ = 0
  let chosenSize = Number.POSITIVE_INFINITY
  for (const encoding of compressedEncodings) {
    const body = file[encoding]
    if (body === undefined) continue
    const q = accepted.get(encoding) ?? any
    if (q > chosenQ || (q > 0 && q === chosenQ && body.length < chosenSize)) {
      chosen = encoding
      chosenQ = q
      chosenSize = body.length
    }
  }
  const identity = accepted.get('identity')
  return identity !== undefined && identity > chosenQ ? 'identity' : chosen
}

// The fast path asks for every request, and a browser sends the same header
// each time: the last one parsed is kept.
let lastHeader = ''
let lastParsed = new Map<string, number>()

/** Each coding `header` names, lower-case, with its q-value (1 when it has none; 0 for a malformed one). */
export function parseAcceptEncoding (header: string): ReadonlyMap<string, number> {
  if (header === lastHeader) return lastParsed
  const parsed = new Map<string, number>()
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().split(';')
    const coding = name?.trim().toLowerCase() ?? ''
    if (coding === '' || parsed.has(coding)) continue
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='))
    // qvalue = 0 to 1 with up to three decimals (RFC 9110 §12.4.2); anything else counts as refused.
    parsed.set(coding, q === undefined ? 1 : /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(q.slice(2)) ? Number(q.slice(2)) : 0)
  }
  lastHeader = header
  lastParsed = parsed
  return parsed
}

/**
 * True when a request names more than one host: two or more `Host` fields
 * (RFC 9112 §3.2 requires a 400), or over HTTP/2 a `Host` that differs from
 * `:authority` (RFC 9113 §8.3.1). Node keeps only the first `Host` in
 * `request.headers`, so the raw list is read: a proxy or cache in front could
 * pick the other one.
 */
export function hasConflictingHost (rawHeaders: readonly string[]): boolean {
  let host: string | undefined
  let authority: string | undefined
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (host !== undefined) return true
      host = rawHeaders[i + 1] ?? ''
    } else if (name === ':authority') {
      authority = rawHeaders[i + 1] ?? ''
    }
  }
  return host !== undefined && authority !== undefined && host.toLowerCase() !== authority.toLowerCase()
}

/**
 * Which header lines of `_headers` seraph can send as they are: a name that
 * is an HTTP token (RFC 9110 §5.1), a value of visible ASCII, spaces and tabs
 * (Node refuses control characters in a value, and would send other
 * characters as Latin-1, not UTF-8), and a name seraph does not compute per
 * response itself.
 */

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const asciiValue = /^[\t\x20-\x7e]*$/

/**
 * Set per response to keep HTTP correct — the body's framing and encoding,
 * the validators a 304 or a range is judged by, the connection — or by Node:
 * a site can neither set nor remove them. (Netlify also keeps a list of
 * names it does not let `_headers` set.)
 */
export const protectedHeaders: ReadonlySet<string> = new Set([
  'accept-ranges', 'age', 'connection', 'content-encoding', 'content-length', 'content-range', 'date', 'etag',
  'keep-alive', 'last-modified', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'vary'
])

/** The lower-case name, or the reason the name cannot be used. */
export function checkHeaderName (name: string): { name: string } | { problem: string } {
  if (name === '') return { problem: 'no header name' }
  if (!token.test(name)) return { problem: `"${name.slice(0, 40)}" is not a valid header name` }
  const lower = name.toLowerCase()
  // Netlify reads `Basic-Auth: user:password` as password protection; sent
  // as a header it would publish the password.
  if (lower === 'basic-auth') return { problem: 'Netlify\'s Basic-Auth (password protection) is not supported: not sent' }
  if (protectedHeaders.has(lower)) return { problem: `seraph sets ${lower} itself, per response: it cannot be set or removed here` }
  return { name: lower }
}

/** Undefined when `value` can be sent, else why not. */
export function valueProblem (value: string): string | undefined {
  if (value === '') return 'no value after ":"'
  if (!asciiValue.test(value)) return 'the value holds a control or non-ASCII character (percent-encode it, or use RFC 8187 encoding)'
  return undefined
}

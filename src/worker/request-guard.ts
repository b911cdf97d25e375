import { splitQuery } from '../shared/request-target.js'

/**
 * Rejects request paths that try to leave the served root or confuse the file
 * system layer, before they reach @fastify/static. `send` already refuses `..`;
 * this is the second, explicit line of defence, and it is cheap: the slow path
 * runs only when the URL holds a `%`, a `\` or a dot segment.
 */
export function isSafeRequestPath (url: string): boolean {
  const { path } = splitQuery(url)
  if (path.includes('\\') || path.includes('\0')) return false
  if (!path.includes('%') && !path.includes('/.')) return true
  // An encoded slash or backslash would change where segments split after decoding.
  if (/%(?:2f|5c|00)/i.test(path)) return false
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return false
  }
  if (decoded.includes('\\') || decoded.includes('\0')) return false
  return !decoded.split('/').some((segment) => segment === '..')
}

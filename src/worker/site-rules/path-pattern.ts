/**
 * The path patterns of `_redirects` and `_headers` (Netlify's and Cloudflare
 * Pages' syntax): a path, with at most one splat `*` (greedy, any
 * characters) and named placeholders `:name` (`:[A-Za-z]\w*`, one segment,
 * each name once). Patterns are matched against the decoded request path,
 * case-sensitively, with or without a trailing slash (Netlify's rule:
 * `/a` and `/a/` are the same path to a rule); a trailing `/*` also matches
 * the folder itself (`/blog/*` matches `/blog`, with an empty splat).
 */

/** A pattern without splat or placeholder: matched by a map lookup of its key. */
export interface StaticPattern {
  readonly kind: 'static'
  /** The decoded path without its trailing slash ({@link matchKey}). */
  readonly key: string
}

/** A pattern with a splat or placeholders: a regular expression compiled once per file version. */
export interface DynamicPattern {
  readonly kind: 'dynamic'
  readonly regex: RegExp
  /** The capture groups' names in order: placeholders, `splat` for `*`. */
  readonly names: readonly string[]
}

/** A FROM or `_headers` path, compiled. */
export type PathPattern = StaticPattern | DynamicPattern

/** `:name` in a pattern or a template (Cloudflare's definition). */
const placeholder = /:([A-Za-z]\w*)/g
// Escapes that are valid with the `u` flag (syntax characters only).
const syntaxCharacter = /[\\^$.*+?()[\]{}|/]/g

/** What a request path is looked up by: decoded, one trailing slash removed (but `/` stays `/`). */
export function matchKey (path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

/** Compiles a FROM (or `_headers` path) as written in the file; a string is the reason it cannot be used. */
export function compilePattern (written: string): PathPattern | string {
  if (!written.startsWith('/')) return 'the path must start with "/" (rules for another host are not supported)'
  let decoded: string
  try {
    decoded = decodeURIComponent(written)
  } catch {
    return 'the path is not valid percent-encoding'
  }
  if (/[\0\\]/.test(decoded)) return 'the path holds a NUL or a backslash'
  const splats = decoded.split('*').length - 1
  if (splats > 1) return 'more than one "*" in the path'
  const names = [...decoded.matchAll(placeholder)].map((m) => m[1] as string)
  if (names.includes('splat')) return '":splat" is the name of "*": not a placeholder'
  if (new Set(names).size !== names.length) return 'a placeholder name used twice in the path'
  const path = matchKey(decoded)
  if (splats === 0 && names.length === 0) return { kind: 'static', key: path }
  try {
    return { kind: 'dynamic', ...dynamicRegex(path) }
  } catch {
    // Every literal is escaped: a safety net for what that did not foresee.
    return 'the path could not be compiled'
  }
}

function dynamicRegex (path: string): { regex: RegExp, names: string[] } {
  const names: string[] = []
  // `/blog/*` at the end: the folder itself too, with an empty splat.
  const folderSplat = path.endsWith('/*')
  const body = folderSplat ? path.slice(0, -2) : path
  let source = ''
  let last = 0
  for (const m of body.matchAll(/:([A-Za-z]\w*)|\*/g)) {
    source += escape(body.slice(last, m.index))
    if (m[0] === '*') {
      names.push('splat')
      source += '(.*)'
    } else {
      names.push(m[1] as string)
      // Up to the next slash, or to the literal character that follows it
      // in the segment (`/:year-:slug`: the year stops at the first "-"):
      // one way to match, so a path that does not match fails in linear
      // time, however many placeholders a segment holds.
      const next = body[m.index + m[0].length]
      source += next === undefined || next === '/' || next === ':' || next === '*' ? '([^/]+)' : `([^/${next.replace(/[\\\]]/u, '\\$&')}]+)`
    }
    last = m.index + m[0].length
  }
  source += escape(body.slice(last))
  if (folderSplat) {
    names.push('splat')
    source += '(?:/(.*))?'
  }
  return { regex: new RegExp(`^${source}/?$`, 'u'), names }
}

function escape (text: string): string {
  return text.replace(syntaxCharacter, '\\$&')
}

/**
 * Longest path tried against dynamic patterns: a splat followed by more of
 * the pattern tries each place the splat could end, so a match costs up to
 * the square of the path's length; past this many characters (no page of a
 * blog has such a path) only static rules apply.
 */
export const maxDynamicPathLength = 2048

/** The captures of `regex` on `path` by name (`splat` '' when a folder splat matched the folder), or undefined. */
export function matchDynamic (pattern: DynamicPattern, path: string): Map<string, string> | undefined {
  if (path.length > maxDynamicPathLength) return undefined
  const m = pattern.regex.exec(path)
  if (m === null) return undefined
  const params = new Map<string, string>()
  pattern.names.forEach((name, i) => params.set(name, m[i + 1] ?? ''))
  return params
}

/** The `:name`s a template (a TO, a header value) uses. */
export function placeholdersIn (template: string): string[] {
  return [...template.matchAll(placeholder)].map((m) => m[1] as string)
}

/**
 * `template` with each `:name` that `params` holds replaced by its value,
 * percent-encoded (a splat segment by segment, keeping its slashes): the
 * result stays ASCII, so it is a valid URL and a valid header value whatever
 * the request path held. Names `params` does not hold stay as they are.
 */
export function substitute (template: string, params: ReadonlyMap<string, string>): string {
  if (params.size === 0) return template
  return template.replace(placeholder, (whole, name: string) => {
    const value = params.get(name)
    if (value === undefined) return whole
    return name === 'splat' ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value)
  })
}

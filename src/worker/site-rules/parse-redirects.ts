import { isSafeRequestPath } from '../request-guard.js'
import { siteRuleLimits, type LineProblem } from './limits.js'
import { compilePattern, placeholdersIn, type PathPattern } from './path-pattern.js'

/** Statuses that send the client elsewhere, with a Location. */
export type RedirectStatus = 301 | 302 | 303 | 307 | 308

/** Every status a rule may have: `200` rewrites, `404` serves a page with status 404. */
export type RuleStatus = RedirectStatus | 200 | 404

/** One usable line of `_redirects`. */
export interface RedirectRule {
  /** 1-based: rules apply in file order, the first that matches wins. */
  readonly line: number
  readonly from: PathPattern
  /**
   * TO as written (any non-ASCII character percent-encoded): a path in the
   * root, or an http(s) URL for the 3xx statuses. Its `:name`s are all
   * defined by FROM.
   */
  readonly to: string
  readonly status: RuleStatus
  /** `!`: applies even where a file exists at FROM (Netlify's shadowing, turned off). */
  readonly force: boolean
  /** TO is an absolute URL. */
  readonly external: boolean
}

/** The usable rules of a file and the lines skipped, with why. */
export interface ParsedRedirects {
  readonly rules: readonly RedirectRule[]
  readonly problems: readonly LineProblem[]
}

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
const ruleStatuses: ReadonlySet<number> = new Set([...redirectStatuses, 200, 404])

/**
 * Parses a `_redirects` file: one rule per line, `FROM TO [STATUS][!]`,
 * `#` comments (a whole line, or from a word that starts with `#`), blank
 * lines. Status 301 when none is given (Netlify's default; Cloudflare's is
 * 302). Every line that cannot be used is skipped and reported with its
 * number and reason; nothing here throws, whatever the text.
 */
export function parseRedirects (text: string): ParsedRedirects {
  const rules: RedirectRule[] = []
  const problems: LineProblem[] = []
  const counts = { static: 0, dynamic: 0 }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  lines.forEach((raw, index) => {
    const line = index + 1
    let parsed: RedirectRule | string | undefined
    try {
      parsed = parseLine(raw, line)
    } catch {
      // A safety net: a line the checks below did not foresee is skipped, never fatal.
      parsed = 'the line could not be parsed'
    }
    if (parsed === undefined) return
    if (typeof parsed === 'string') {
      problems.push({ line, reason: parsed })
      return
    }
    const kind = parsed.from.kind
    const limit = kind === 'static' ? siteRuleLimits.staticRedirects : siteRuleLimits.dynamicRedirects
    counts[kind]++
    if (counts[kind] <= limit) {
      rules.push(parsed)
    } else if (counts[kind] === limit + 1) {
      problems.push({ line, reason: `more than ${limit} ${kind} rules: this one and the later ${kind} rules are ignored`, overLimit: true })
    }
  })
  return { rules, problems }
}

/** A rule, undefined for a blank or comment line, or the reason the line is skipped. */
function parseLine (raw: string, line: number): RedirectRule | string | undefined {
  if (raw.length > siteRuleLimits.redirectLineLength) return `longer than ${siteRuleLimits.redirectLineLength} characters`
  const words = raw.trim().split(/\s+/)
  const comment = words.findIndex((word) => word.startsWith('#'))
  if (comment !== -1) words.length = comment
  if (words.length === 0 || words[0] === '') return undefined
  const [fromText, toText, statusText, ...rest] = words as [string, ...string[]]
  if (toText === undefined) return 'no TO: a rule is FROM TO [STATUS]'
  if (!toText.startsWith('/') && toText.includes('=') && !/^https?:/i.test(toText)) {
    return 'query-string conditions (key=value after FROM) are not supported'
  }
  if (rest.length > 0) {
    return rest.some((word) => word.includes('=')) ? 'conditions (Country=, Language=, Role=, Cookie=…) are not supported' : `unexpected "${clip(rest[0] as string)}" after the status`
  }
  const { status, force } = parseStatus(statusText)
  if (status === undefined) return statusText !== undefined && /^\d+!?$/.test(statusText) ? `status ${clip(statusText)} is not supported (301, 302, 303, 307, 308, 200 or 404)` : `"${clip(statusText ?? '')}" is not a status`
  const from = compilePattern(fromText)
  if (typeof from === 'string') return `FROM: ${from}`
  if (/^\/\.well-known(?:\/|$)/.test(fromText)) return 'rules never apply below /.well-known/ (certificates are validated there)'
  const to = checkTo(toText, status, fromText)
  if (typeof to !== 'string') return to.problem
  return { line, from, to, status, force, external: /^https?:\/\//i.test(to) }
}

function parseStatus (text: string | undefined): { status: RuleStatus | undefined, force: boolean } {
  if (text === undefined) return { status: 301, force: false }
  const m = /^(\d{3})(!?)$/.exec(text)
  const code = m === null ? NaN : Number(m[1])
  return { status: ruleStatuses.has(code) ? code as RuleStatus : undefined, force: m?.[2] === '!' }
}

/** TO ready to use, or why it cannot be. */
function checkTo (written: string, status: RuleStatus, fromText: string): string | { problem: string } {
  // Percent-encode what is not printable ASCII, so the Location header and
  // the path looked up are what the browser would send.
  const to = written.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))
  const allowed = new Set([...placeholdersIn(fromText), ...(fromText.includes('*') ? ['splat'] : [])])
  const unknown = placeholdersIn(to).find((name) => !allowed.has(name))
  if (unknown !== undefined) return { problem: `TO uses ":${clip(unknown)}", which FROM does not define` }
  // Placeholders stand for one encoded segment: a stand-in checks the rest.
  const sample = to.replace(/:[A-Za-z]\w*/g, 'x')
  if (/^https?:\/\//i.test(to)) {
    if (!redirectStatuses.has(status)) return { problem: `a ${status} rule needs a path in the root for TO (seraph does not proxy)` }
    return URL.canParse(sample) ? to : { problem: 'TO is not a valid URL' }
  }
  if (!to.startsWith('/')) return { problem: 'TO must be a path starting with "/" or an http(s):// URL' }
  if (to.startsWith('//')) return { problem: 'TO starting with "//" names another host: write https://host/… instead' }
  if (!isSafeRequestPath(sample)) return { problem: 'TO leads outside the root ("..", an encoded slash or backslash, or a NUL)' }
  return to
}

function clip (text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}

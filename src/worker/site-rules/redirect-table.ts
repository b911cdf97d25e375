import type { RedirectRule } from './parse-redirects.js'
import { matchDynamic, matchKey, substitute } from './path-pattern.js'

/** A rule that applies to a path, with its TO filled in (placeholders percent-encoded). */
export interface RedirectMatch {
  readonly rule: RedirectRule
  /** TO with the path's values: a path (with its own query, if TO has one) or a URL. */
  readonly target: string
}

/** The rules that may answer one path: which one does depends on whether a file exists there. */
export interface PathMatches {
  /** The first rule that matches: it answers when no file exists at the path. */
  readonly first?: RedirectMatch
  /** The first forced (`!`) rule that matches: it answers even where a file exists. */
  readonly firstForced?: RedirectMatch
}

const none: PathMatches = {}

/**
 * The `_redirects` rules of one file version, ready to match: static rules
 * in a map by path (up to 2,000, one lookup), dynamic ones as regular
 * expressions compiled once (up to 100, tried in turn). File order decides
 * between them: the first matching line wins. A rule whose TO is the very
 * path asked for (`/trailing /trailing/` seen from `/trailing/`, with the
 * trailing slash rule of path-pattern.ts) would answer with itself: it is
 * passed over, so it cannot loop (Netlify ignores such rules too).
 */
export class RedirectTable {
  readonly #static = new Map<string, RedirectRule[]>()
  readonly #dynamic: RedirectRule[] = []
  readonly size: number

  constructor (rules: readonly RedirectRule[]) {
    this.size = rules.length
    for (const rule of rules) {
      if (rule.from.kind === 'dynamic') {
        this.#dynamic.push(rule)
        continue
      }
      const list = this.#static.get(rule.from.key)
      if (list === undefined) this.#static.set(rule.from.key, [rule])
      else list.push(rule)
    }
  }

  /** `path`: decoded, without query. */
  matches (path: string): PathMatches {
    const statics = this.#static.get(matchKey(path)) ?? []
    if (statics.length === 0 && this.#dynamic.length === 0) return none
    let first: RedirectMatch | undefined
    let firstForced: RedirectMatch | undefined
    // Both lists are in file order: merge them by line.
    let s = 0
    let d = 0
    while ((s < statics.length || d < this.#dynamic.length) && firstForced === undefined) {
      const fromStatic = d >= this.#dynamic.length || (s < statics.length && (statics[s] as RedirectRule).line < (this.#dynamic[d] as RedirectRule).line)
      const rule = (fromStatic ? statics[s++] : this.#dynamic[d++]) as RedirectRule
      const params = rule.from.kind === 'dynamic' ? matchDynamic(rule.from, path) : new Map<string, string>()
      if (params === undefined) continue
      const target = substitute(rule.to, params)
      if (!rule.external && leadsBack(target, path)) continue
      const match = { rule, target }
      first ??= match
      if (rule.force) firstForced = match
    }
    return first === undefined ? none : { first, firstForced }
  }
}

function leadsBack (target: string, path: string): boolean {
  const at = target.search(/[?#]/)
  try {
    return decodeURIComponent(at === -1 ? target : target.slice(0, at)) === path
  } catch {
    return false
  }
}

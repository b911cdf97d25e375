import { join } from 'node:path'
import type { Logger } from '../../shared/logger.js'
import type { RootConfinement } from '../root-confinement.js'
import { isSafeRequestPath } from '../request-guard.js'
import type { HeaderEdit } from './header-edit.js'
import { HeaderTable } from './header-table.js'
import { siteRuleLimits, type LineProblem } from './limits.js'
import { parseHeaders } from './parse-headers.js'
import { parseRedirects, type RedirectStatus } from './parse-redirects.js'
import { RedirectTable, type PathMatches } from './redirect-table.js'
import { fileState, readRulesText, sameVersion, type FileVersion } from './rules-file.js'

/** The two files, in the root, by what they hold. */
export const ruleFileNames = { redirects: '_redirects', headers: '_headers' } as const
type Which = keyof typeof ruleFileNames

/** What the fast paths need to know about a path: one map lookup once it has been asked for. */
export interface PathRules {
  /** A forced (`!`) rule matches: its answer wins over the file there, so the fast path leaves it to Fastify. */
  readonly forced: boolean
  /** The `_headers` edit for every answer at this path; undefined when none applies. */
  readonly headers: HeaderEdit | undefined
}

/** What a `_redirects` rule answers a GET or HEAD with. */
export type RuleOutcome =
  | { readonly kind: 'redirect', readonly status: RedirectStatus, readonly location: string }
  /** Status 200 with the file at `path` (decoded, in the root; root confinement applies as to any file). */
  | { readonly kind: 'rewrite', readonly path: string }
  /** Status 404 with the page at `path`. */
  | { readonly kind: 'not-found-page', readonly path: string }

export interface SiteRulesOptions {
  readonly root: string
  readonly confinement: RootConfinement
  readonly logger: Logger
  /** How often both files are checked for a change: the file cache's revalidation interval. */
  readonly checkIntervalMs: number
}

interface PathEntry extends PathRules {
  readonly matches: PathMatches
}

const noRules: PathEntry = { forced: false, headers: undefined, matches: {} }
/** Paths whose rules are remembered; past it the memo starts afresh (a crawler's random paths cannot grow it). */
const maxRememberedPaths = 10_000

/**
 * The site's own rules, from `_redirects` and `_headers` in the root:
 * checked every `checkIntervalMs` (a `stat` each, like the file cache's
 * revalidation; no signal needed), parsed and compiled once per version,
 * and on every worker alike, since each worker checks the same files. What
 * they say about a path is computed at its first request and remembered
 * until the files change, so a cached page stays a lookup on the fast
 * paths. Without either file, `active` is false and nothing is looked up.
 *
 * The files are watched here rather than held in the FileCache: it would
 * keep, compress and serve them, and it checks an entry only when a request
 * asks for it; a timer applies a change with no request, on idle workers too.
 */
export class SiteRules {
  readonly #options: SiteRulesOptions
  readonly #paths = new Map<string, PathEntry>()
  readonly #versions: Partial<Record<Which, FileVersion>> = {}
  // The last refusal or read error logged per file: logged once, not every check.
  readonly #complaints: Partial<Record<Which, string>> = {}
  #redirects = new RedirectTable([])
  #headers = new HeaderTable([])
  #active = false
  #timer: NodeJS.Timeout | undefined
  #checking: Promise<void> | undefined

  constructor (options: SiteRulesOptions) {
    this.#options = options
  }

  /** False while neither file holds a rule: the request path is then unchanged. */
  get active (): boolean {
    return this.#active
  }

  /** Reads both files, then checks them every interval until {@link stop}. */
  async start (): Promise<void> {
    await this.check()
    this.#timer = setInterval(() => { this.check().catch(() => {}) }, this.#options.checkIntervalMs).unref()
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  /** Checks both files once (one check at a time); a changed file is read and applied. Never throws. */
  check (): Promise<void> {
    this.#checking ??= Promise.all([this.#checkFile('redirects'), this.#checkFile('headers')])
      .then(() => undefined)
      .finally(() => { this.#checking = undefined })
    return this.#checking
  }

  /** `path`: the decoded request path, without query. */
  forPath (path: string): PathRules {
    return this.#active ? this.#entry(path) : noRules
  }

  headersFor (path: string): HeaderEdit | undefined {
    return this.forPath(path).headers
  }

  /**
   * The answer the rules give a GET or HEAD of `path` (decoded, `query` with
   * its `?` or ''), or undefined to serve the path as usual. `exists`: a
   * file (or a directory) is there; then only a forced rule answers
   * (Netlify's shadowing).
   */
  route (path: string, query: string, exists: boolean): RuleOutcome | undefined {
    if (!this.#active) return undefined
    const { matches } = this.#entry(path)
    const match = exists ? matches.firstForced : matches.first
    if (match === undefined) return undefined
    const { rule, target } = match
    if (rule.status === 200 || rule.status === 404) {
      const local = localPath(target)
      if (local === undefined) return undefined
      return rule.status === 200 ? { kind: 'rewrite', path: local } : { kind: 'not-found-page', path: local }
    }
    return { kind: 'redirect', status: rule.status, location: withQuery(target, query) }
  }

  /** True for the rules files themselves, by the path asked for or where a link leads: never served. */
  isRulesFile (fsPath: string, realPath: string): boolean {
    for (const which of ['redirects', 'headers'] as const) {
      if (fsPath === join(this.#options.root, ruleFileNames[which]) || realPath === this.#versions[which]?.realPath) return true
    }
    return false
  }

  #entry (path: string): PathEntry {
    let entry = this.#paths.get(path)
    if (entry === undefined) {
      // Certificates are validated below /.well-known/ (certbot --webroot): no rule may redirect them.
      const matches = path === '/.well-known' || path.startsWith('/.well-known/') ? {} : this.#redirects.matches(path)
      entry = { forced: matches.firstForced !== undefined, headers: this.#headers.editFor(path), matches }
      if (this.#paths.size >= maxRememberedPaths) this.#paths.clear()
      this.#paths.set(path, entry)
    }
    return entry
  }

  async #checkFile (which: Which): Promise<void> {
    const file = ruleFileNames[which]
    try {
      const state = await fileState(join(this.#options.root, file), this.#options.confinement)
      if (state.kind === 'present' && sameVersion(state.version, this.#versions[which])) return
      if (state.kind !== 'present') {
        if (state.kind === 'refused') this.#complain(which, `refused (${state.reason}): ignored`)
        else delete this.#complaints[which]
        if (this.#versions[which] === undefined) return
        this.#apply(which, '', undefined)
        this.#options.logger.info({ file }, 'site rules removed')
        return
      }
      const { text, truncated } = await readRulesText(state.version)
      const { rules, problems } = this.#apply(which, text, state.version)
      delete this.#complaints[which]
      this.#report(file, problems, truncated)
      this.#options.logger.info({ file, rules, skipped: problems.length }, 'site rules loaded')
    } catch (err) {
      this.#complain(which, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ignored`)
    }
  }

  /** Parses and compiles `text` as the new version of the file (none: the file is gone); the memo starts afresh. */
  #apply (which: Which, text: string, version: FileVersion | undefined): { rules: number, problems: readonly LineProblem[] } {
    let result: { rules: number, problems: readonly LineProblem[] }
    if (which === 'redirects') {
      const { rules, problems } = parseRedirects(text)
      this.#redirects = new RedirectTable(rules)
      result = { rules: rules.length, problems }
    } else {
      const { blocks, problems } = parseHeaders(text)
      this.#headers = new HeaderTable(blocks)
      result = { rules: blocks.length, problems }
    }
    if (version === undefined) delete this.#versions[which]
    else this.#versions[which] = version
    this.#paths.clear()
    this.#active = this.#redirects.size > 0 || this.#headers.size > 0
    return result
  }

  #complain (which: Which, reason: string): void {
    if (this.#complaints[which] === reason) return
    this.#complaints[which] = reason
    this.#options.logger.warn({ file: ruleFileNames[which], reason }, 'site rules file not used')
  }

  // One line per problem, once per file version; past `loggedProblems` one
  // line counts the rest. The limit lines (at most two) are always written.
  #report (file: string, problems: readonly LineProblem[], truncated: boolean): void {
    const logger = this.#options.logger
    if (truncated) logger.warn({ file, limitBytes: siteRuleLimits.fileBytes }, 'site rules file too large: only its beginning is read')
    let logged = 0
    let unlogged = 0
    for (const { line, reason, overLimit } of problems) {
      if (overLimit === true) logger.warn({ file, line, reason }, 'site rules past the limit: the rest is ignored')
      else if (logged++ < siteRuleLimits.loggedProblems) logger.warn({ file, line, reason }, 'site rule line skipped')
      else unlogged++
    }
    if (unlogged > 0) logger.warn({ file, lines: unlogged }, 'more site rule lines skipped (not logged one by one)')
  }
}

/** A rewrite's TO (filled in) as a decoded path in the root, or undefined when a value made it unsafe. */
function localPath (target: string): string | undefined {
  const at = target.search(/[?#]/)
  const path = at === -1 ? target : target.slice(0, at)
  if (!isSafeRequestPath(path)) return undefined
  try {
    return decodeURIComponent(path)
  } catch {
    return undefined
  }
}

/** The request's query string added to a redirect's target, unless the target has its own; before a fragment. */
function withQuery (target: string, query: string): string {
  const hash = target.indexOf('#')
  const beforeHash = hash === -1 ? target : target.slice(0, hash)
  if (query === '' || query === '?' || beforeHash.includes('?')) return target
  return beforeHash + query + (hash === -1 ? '' : target.slice(hash))
}

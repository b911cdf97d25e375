import { checkHeaderName, valueProblem } from './header-fields.js'
import { siteRuleLimits, type LineProblem } from './limits.js'
import { compilePattern, placeholdersIn, type PathPattern } from './path-pattern.js'

/** One path block of `_headers`: what it adds and removes where its pattern matches. */
export interface HeaderBlock {
  /** 1-based, of the path line: matching blocks apply in file order. */
  readonly line: number
  readonly pattern: PathPattern
  /** Lower-case name → value; a name given twice in the block has its values joined with ", ". */
  readonly set: ReadonlyMap<string, string>
  /** `! Name`: lower-case names removed, whoever would send them. */
  readonly remove: ReadonlySet<string>
  /** Some value uses one of the pattern's `:name`s (substituted per path). */
  readonly substitutes: boolean
}

/** The usable blocks of a file and the lines skipped, with why. */
export interface ParsedHeaders {
  readonly blocks: readonly HeaderBlock[]
  readonly problems: readonly LineProblem[]
}

interface OpenBlock {
  readonly line: number
  readonly pattern: PathPattern
  readonly set: Map<string, string>
  readonly remove: Set<string>
}

/**
 * Parses a `_headers` file: a path pattern line (`/fonts/*`), then indented
 * `Name: value` lines, and `! Name` lines that remove a header; `#` comment
 * lines, blank lines. A line that cannot be used is skipped and reported
 * with its number and reason; the header lines under a path line that
 * cannot be used are skipped with it (its reason covers them). Nothing here
 * throws, whatever the text.
 */
export function parseHeaders (text: string): ParsedHeaders {
  const blocks: HeaderBlock[] = []
  const problems: LineProblem[] = []
  // undefined: before any path; 'skipped': under a path line that was skipped.
  let current: OpenBlock | 'skipped' | undefined
  let paths = 0
  const close = (): void => {
    if (current === undefined || current === 'skipped') return
    const { line, pattern, set, remove } = current
    const substitutes = pattern.kind === 'dynamic' && [...set.values()].some((value) => placeholdersIn(value).some((name) => pattern.names.includes(name)))
    blocks.push({ line, pattern, set, remove, substitutes })
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  for (const [index, raw] of lines.entries()) {
    const line = index + 1
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    if (raw.length > siteRuleLimits.headerLineLength) {
      problems.push({ line, reason: `longer than ${siteRuleLimits.headerLineLength} characters` })
      if (isPathLine(trimmed)) {
        close()
        current = 'skipped'
      }
      continue
    }
    if (isPathLine(trimmed)) {
      close()
      paths++
      if (paths > siteRuleLimits.headerRules) {
        if (paths === siteRuleLimits.headerRules + 1) problems.push({ line, reason: `more than ${siteRuleLimits.headerRules} header rules: this one and the later ones are ignored`, overLimit: true })
        current = 'skipped'
        continue
      }
      const pattern = /^https?:\/\//i.test(trimmed) ? 'absolute URLs (rules for one host) are not supported' : compilePattern(trimmed)
      if (typeof pattern === 'string') {
        problems.push({ line, reason: pattern })
        current = 'skipped'
        continue
      }
      current = { line, pattern, set: new Map(), remove: new Set() }
      continue
    }
    if (current === 'skipped') continue
    const problem = current === undefined ? 'a header line before any path line' : addField(current, trimmed)
    if (problem !== undefined) problems.push({ line, reason: problem })
  }
  close()
  return { blocks, problems }
}

// A path, or Cloudflare's absolute URL form (reported as unsupported).
function isPathLine (trimmed: string): boolean {
  return trimmed.startsWith('/') || /^https?:\/\//i.test(trimmed)
}

/** Adds `Name: value` or `! Name` to the block; returns why the line cannot be used. */
function addField (block: OpenBlock, trimmed: string): string | undefined {
  if (trimmed.startsWith('!')) {
    const checked = checkHeaderName(trimmed.slice(1).trim())
    if ('problem' in checked) return checked.problem
    block.remove.add(checked.name)
    return undefined
  }
  const colon = trimmed.indexOf(':')
  if (colon === -1) return 'neither a path, a "Name: value" line nor a "! Name" line'
  const checked = checkHeaderName(trimmed.slice(0, colon).trim())
  if ('problem' in checked) return checked.problem
  const value = trimmed.slice(colon + 1).trim()
  const problem = valueProblem(value)
  if (problem !== undefined) return problem
  const before = block.set.get(checked.name)
  block.set.set(checked.name, before === undefined ? value : `${before}, ${value}`)
  return undefined
}

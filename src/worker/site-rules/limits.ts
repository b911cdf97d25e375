/**
 * Cloudflare Pages' limits for `_redirects` and `_headers`
 * (developers.cloudflare.com/pages/configuration/redirects/ and /headers/),
 * so that a file written for it fits here too. Past a count limit the rest of
 * the file's rules of that kind is ignored, with one warning; a line past its
 * length limit is skipped, with its own warning.
 */
export const siteRuleLimits = {
  /** Redirect rules without splat or placeholder (map lookups). */
  staticRedirects: 2000,
  /** Redirect rules with a splat or placeholders (regular expressions, tried in turn). */
  dynamicRedirects: 100,
  /** Characters of one `_redirects` line. */
  redirectLineLength: 1000,
  /** Path blocks of `_headers`. */
  headerRules: 100,
  /** Characters of one `_headers` line. */
  headerLineLength: 2000,
  /**
   * Bytes read of either file: the limits above fit in ~2.2 MB; a larger
   * file (a mistake, or not a rules file) is read only this far.
   */
  fileBytes: 4 * 1024 * 1024,
  /** Skipped lines logged per file version; the rest are counted in one more line. */
  loggedProblems: 50
} as const

/** A line of a rules file that is not applied, and why: logged once per file version. */
export interface LineProblem {
  /** 1-based. */
  readonly line: number
  readonly reason: string
  /** The first rule past a count limit: it and the later ones of its kind are ignored. */
  readonly overLimit?: true
}

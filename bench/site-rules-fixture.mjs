// @ts-check
/**
 * The site of the `seraph-rules` contender: a copy of the bench's root with
 * a `_redirects` of 2,000 static and 100 dynamic rules and a `_headers` of
 * 100 blocks, the most seraph takes (Cloudflare Pages' limits). None of them
 * matches a path the scenarios ask for, so the answers are the same bytes
 * as `seraph`'s and the difference between the two is what the rules cost
 * a cached page (issue 29: at most 1.05×).
 */
import { cpSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The rules, as a blog that moved its posts twice would write them. */
export function ruleFiles () {
  const redirects = ['# 2,000 static rules: one per renamed post']
  for (let i = 0; i < 2000; i++) redirects.push(`/old-blog/post-${i}.html /posts/post-${i}/ 301`)
  redirects.push('# 100 dynamic rules: placeholders and splats')
  for (let i = 0; i < 50; i++) redirects.push(`/archive-${i}/:year/:month/:slug /posts/:slug/ 301`)
  for (let i = 0; i < 50; i++) redirects.push(`/section-${i}/* /topics/${i}/:splat 302`)
  const headers = ['# 100 header blocks']
  for (let i = 0; i < 50; i++) headers.push(`/fonts-${i}/*`, '  Access-Control-Allow-Origin: *', '  Cache-Control: public, max-age=31536000, immutable')
  for (let i = 0; i < 50; i++) headers.push(`/drafts/post-${i}`, '  X-Robots-Tag: noindex', '  ! Content-Security-Policy')
  return { redirects: redirects.join('\n') + '\n', headers: headers.join('\n') + '\n' }
}

/**
 * Writes the site once into `seraphDir` (the bench's copy of seraph, which
 * the workers read anyway) and returns its path.
 * @param {{ root: string, seraphDir: string }} ctx
 * @returns {string}
 */
export function rulesSite (ctx) {
  const dir = join(ctx.seraphDir, 'rules-site')
  if (existsSync(dir)) return dir
  cpSync(ctx.root, dir, { recursive: true })
  const { redirects, headers } = ruleFiles()
  writeFileSync(join(dir, '_redirects'), redirects, { mode: 0o644 })
  writeFileSync(join(dir, '_headers'), headers, { mode: 0o644 })
  return dir
}

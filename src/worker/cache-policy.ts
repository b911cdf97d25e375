/**
 * Cache-Control by kind of file, for browsers and CDNs:
 * - a fingerprinted name (`app.3f2a9c1b.css`, `logo-9f8e7d6c5b.png`: 8 or
 *   more hex digits before the extension) changes whenever its content does,
 *   so it is cached for a year and marked `immutable`;
 * - HTML and feeds change in place: 5 minutes;
 * - any other asset: 1 hour.
 * Every response also carries a strong ETag and Last-Modified, so an expired
 * copy costs a 304, not a download.
 */
export const cacheControl = {
  fingerprinted: 'public, max-age=31536000, immutable',
  document: 'public, max-age=300',
  asset: 'public, max-age=3600'
} as const

const fingerprint = /[.-][0-9a-f]{8,}\.[a-z0-9]+$/i
const documentTypes = /^(?:text\/html|application\/(?:xml|rss\+xml|atom\+xml)|text\/xml)/

export function cacheControlFor (path: string, contentType: string): string {
  if (fingerprint.test(path)) return cacheControl.fingerprinted
  if (documentTypes.test(contentType)) return cacheControl.document
  return cacheControl.asset
}

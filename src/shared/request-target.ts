/**
 * A request target (`/path?query`) split at its first `?`: `query` keeps the
 * `?`, or is '' when there is none, so `path + query` is the target again (a
 * redirect that adds a slash keeps the query that way). One helper for every
 * place that needs the path alone; the primary's admin listener can use it too.
 */
export function splitQuery (url: string): { readonly path: string, readonly query: string } {
  const at = url.indexOf('?')
  return at === -1 ? { path: url, query: '' } : { path: url.slice(0, at), query: url.slice(at) }
}

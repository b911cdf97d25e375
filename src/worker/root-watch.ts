import type { RootConfinement } from './root-confinement.js'

/**
 * How often a worker resolves the root's real path again. A deploy by
 * symlink swap must be served within a second, and the first request after
 * the move still has to load its file (a stat, a read, gzip): a quarter of
 * that second leaves the rest to spare on a busy machine. It costs one
 * realpath() of the root four times a second per worker, idle or not —
 * less than a single request, and nothing on the request path, which only
 * reads memory (fast-path.ts). A request that meets the new tree before the
 * timer does switches the root itself (RootConfinement.check).
 */
export const rootCheckIntervalMs = 250

/** Re-resolves `confinement`'s root every `intervalMs` until the returned function is called. Keeps no process alive. */
export function watchRoot (confinement: RootConfinement, intervalMs = rootCheckIntervalMs): () => void {
  const timer = setInterval(() => { confinement.refresh().catch(() => {}) }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

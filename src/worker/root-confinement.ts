import { realpathSync } from 'node:fs'
import { realpath } from 'node:fs/promises'
import { resolve, sep } from 'node:path'

export interface ConfinementOptions {
  readonly root: string
  /** Allow targets outside the root (--follow-symlinks); private paths stay refused. */
  readonly followSymlinks: boolean
  /** Files and folders never served: certificates, keys, seraph's state. */
  readonly privatePaths: readonly string[]
}

/** Why a file under the root may not be served. */
export type Refusal = 'outside-root' | 'private'

export type Verdict =
  /** `root`: the real root it was judged against, the one to open `realPath` below. */
  | { readonly allowed: true, readonly realPath: string, readonly root: string }
  | { readonly allowed: false, readonly reason: Refusal }

/** Told when the root's real path changed: the real paths before and after. */
export type MoveListener = (from: string, to: string) => void

/**
 * Decides, from the real path (every symbolic link resolved), whether a file
 * under the root may be served: only if it lies inside the root's real path,
 * and never if it is or lies in a private path — even with --follow-symlinks,
 * and even when the root is a parent of the key's folder. One merged symlink
 * in a blog's repository must not publish /etc/passwd or the TLS key.
 *
 * The root's real path is not fixed: a deploy repoints a link (`current ->
 * releases/2`) that is, or lies above, the root. `refresh()` resolves it
 * again (root-watch.ts calls it on a timer) and tells the listeners when it
 * moved; from then on the new tree is the root, and a link in it pointing
 * into the old one is outside like any other.
 */
export class RootConfinement {
  /** The root as given (links unresolved): every file is looked up below it. */
  readonly root: string
  readonly #followSymlinks: boolean
  readonly #privatePaths: readonly string[]
  readonly #listeners: MoveListener[] = []
  #realRoot: string
  #refreshing: Promise<boolean> | undefined

  constructor (options: ConfinementOptions) {
    this.root = options.root
    this.#realRoot = realOrResolved(options.root)
    this.#followSymlinks = options.followSymlinks
    // Both the path as given and its real path: a link to either is caught.
    this.#privatePaths = [...new Set(options.privatePaths.flatMap((path) => [resolve(path), realOrResolved(path)]))]
  }

  /** The root's real path as last resolved. */
  get realRoot (): string {
    return this.#realRoot
  }

  /** `listener` is called, synchronously, each time the root's real path changes. */
  onMove (listener: MoveListener): void {
    this.#listeners.push(listener)
  }

  /**
   * Resolves the root's real path again; true when it moved (the listeners
   * have been told by then). Calls made while one runs share it. A root that
   * cannot be resolved (a link being replaced non-atomically) keeps the last one.
   */
  refresh (): Promise<boolean> {
    this.#refreshing ??= realpath(this.root)
      .then((real) => this.#moveTo(real), () => false)
      .finally(() => { this.#refreshing = undefined })
    return this.#refreshing
  }

  /** The verdict for `fsPath`; a path that does not exist (or a dangling link) counts as outside. */
  async check (fsPath: string): Promise<Verdict> {
    const real = await realpath(fsPath).catch(() => undefined)
    const verdict = this.#judge(real)
    // Outside the root as last resolved, but perhaps inside the tree the root
    // points to now: a deploy this worker has not seen yet (the timer looks
    // only every 250 ms). Look once before refusing: a request that meets the
    // new tree first switches the root instead of a 404 and a warning. Only
    // refusals pay this, never a served file.
    if (verdict.allowed || verdict.reason !== 'outside-root' || real === undefined) return verdict
    return await this.refresh() ? this.#judge(real) : verdict
  }

  /** The same rule, synchronously, against the root as last resolved (no refresh): for the 404 page. */
  checkSync (fsPath: string): Verdict {
    let real: string | undefined
    try {
      real = realpathSync(fsPath)
    } catch {}
    return this.#judge(real)
  }

  #moveTo (real: string): boolean {
    const from = this.#realRoot
    if (real === from) return false
    this.#realRoot = real
    for (const listener of this.#listeners) listener(from, real)
    return true
  }

  #judge (real: string | undefined): Verdict {
    if (real === undefined) return { allowed: false, reason: 'outside-root' }
    if (this.#privatePaths.some((path) => isInside(real, path))) return { allowed: false, reason: 'private' }
    const root = this.#realRoot
    if (!this.#followSymlinks && !isInside(real, root)) return { allowed: false, reason: 'outside-root' }
    return { allowed: true, realPath: real, root }
  }
}

function isInside (path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep)
}

function realOrResolved (path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return resolve(path)
  }
}

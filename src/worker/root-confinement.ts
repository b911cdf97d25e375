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
  | { readonly allowed: true, readonly realPath: string }
  | { readonly allowed: false, readonly reason: Refusal }

/**
 * Decides, from the real path (every symbolic link resolved), whether a file
 * under the root may be served: only if it lies inside the root's real path,
 * and never if it is or lies in a private path — even with --follow-symlinks,
 * and even when the root is a parent of the key's folder. One merged symlink
 * in a blog's repository must not publish /etc/passwd or the TLS key.
 */
export class RootConfinement {
  readonly realRoot: string
  readonly #followSymlinks: boolean
  readonly #privatePaths: readonly string[]

  constructor (options: ConfinementOptions) {
    this.realRoot = realOrResolved(options.root)
    this.#followSymlinks = options.followSymlinks
    // Both the path as given and its real path: a link to either is caught.
    this.#privatePaths = [...new Set(options.privatePaths.flatMap((path) => [resolve(path), realOrResolved(path)]))]
  }

  /** The verdict for `fsPath`; a path that does not exist (or a dangling link) counts as outside. */
  async check (fsPath: string): Promise<Verdict> {
    const real = await realpath(fsPath).catch(() => undefined)
    return this.#judge(real)
  }

  checkSync (fsPath: string): Verdict {
    let real: string | undefined
    try {
      real = realpathSync(fsPath)
    } catch {}
    return this.#judge(real)
  }

  #judge (real: string | undefined): Verdict {
    if (real === undefined) return { allowed: false, reason: 'outside-root' }
    if (this.#privatePaths.some((path) => isInside(real, path))) return { allowed: false, reason: 'private' }
    if (!this.#followSymlinks && !isInside(real, this.realRoot)) return { allowed: false, reason: 'outside-root' }
    return { allowed: true, realPath: real }
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

import { open, stat } from 'node:fs/promises'
import type { RootConfinement } from '../root-confinement.js'
import { siteRuleLimits } from './limits.js'

/** What tells one version of a rules file from the next: the file cache's test (mtime, size) plus the inode and the real path. */
export interface FileVersion {
  readonly mtimeMs: number
  readonly size: number
  readonly ino: number
  /** Every link resolved: what is read, and what is never served (file-cache.ts). */
  readonly realPath: string
}

/** A rules file as a check finds it. */
export type FileState =
  | { readonly kind: 'absent' }
  /** A link out of the root, or to a private path: treated as absent, with one warning. */
  | { readonly kind: 'refused', readonly reason: string }
  | { readonly kind: 'present', readonly version: FileVersion }

/** Where `fsPath` stands now, by `stat` and the root confinement: no read. */
export async function fileState (fsPath: string, confinement: RootConfinement): Promise<FileState> {
  const stats = await stat(fsPath).catch(() => undefined)
  if (stats === undefined) return { kind: 'absent' }
  if (!stats.isFile()) return { kind: 'refused', reason: 'not a regular file' }
  const verdict = await confinement.check(fsPath)
  if (!verdict.allowed) {
    // Deleted between the stat and the look at its real path (a deploy
    // removing it): absent, not a file that lies outside the root.
    if (await stat(fsPath).catch(() => undefined) === undefined) return { kind: 'absent' }
    return { kind: 'refused', reason: verdict.reason === 'private' ? 'a private path' : 'outside the root' }
  }
  return { kind: 'present', version: { mtimeMs: stats.mtimeMs, size: stats.size, ino: stats.ino, realPath: verdict.realPath } }
}

/** True when both are known and nothing that tells versions apart differs. */
export function sameVersion (a: FileVersion | undefined, b: FileVersion | undefined): boolean {
  return a !== undefined && b !== undefined && a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino && a.realPath === b.realPath
}

/**
 * The text of `version` (its real path, so a link swapped since the check
 * cannot lead elsewhere), at most `siteRuleLimits.fileBytes` of it, cut at
 * its last whole line; `truncated` when there was more.
 */
export async function readRulesText (version: FileVersion): Promise<{ text: string, truncated: boolean }> {
  const handle = await open(version.realPath, 'r')
  try {
    const buffer = Buffer.alloc(Math.min(version.size, siteRuleLimits.fileBytes) + 1)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    const truncated = bytesRead > siteRuleLimits.fileBytes
    const bytes = buffer.subarray(0, truncated ? buffer.lastIndexOf(0x0a, siteRuleLimits.fileBytes) + 1 : bytesRead)
    return { text: bytes.toString('utf8'), truncated }
  } finally {
    await handle.close()
  }
}

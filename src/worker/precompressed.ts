import { readFile, stat } from 'node:fs/promises'
import { promisify } from 'node:util'
import { brotliDecompress, gunzip } from 'node:zlib'
import type { RootConfinement } from './root-confinement.js'
import { decompressZstd, zstdAvailable } from './zstd.js'

const brotliDecompressAsync = promisify(brotliDecompress)
const gunzipAsync = promisify(gunzip)

/** The compressed twins a site may ship beside a file, by the encoding they hold. */
export const twinSuffixes = { br: '.br', gzip: '.gz', zstd: '.zst' } as const

export type TwinEncoding = keyof typeof twinSuffixes

/** A twin found: its bytes when it holds exactly the file, `stale` when it holds something else. */
export type Twin = { readonly kind: 'match', readonly bytes: Buffer } | { readonly kind: 'stale' }

/**
 * Reads the compressed twin of `fsPath` (`index.html.br`, `.gz`, `.zst`)
 * that a site generator made at build time, as nginx's `brotli_static` /
 * `gzip_static` and Caddy's `precompressed` serve them: no worker then spends
 * brotli's quality-11 CPU on that file at each start or reload, and the
 * first visitor gets brotli. Unlike those servers, a twin counts only when it
 * decompresses to exactly `body`: one left behind by an edit of its file is
 * `stale`, never served. Its decompression is bounded by `body`'s size (a
 * twin that expands further cannot match, and is not expanded further).
 * The twin's real path must be inside the root like any file's.
 * Resolves undefined when there is no twin, or it cannot be read or used
 * (a `.zst` twin on a Node without zstd: it cannot be checked).
 */
export async function readTwin (fsPath: string, body: Buffer, encoding: TwinEncoding, confinement: RootConfinement): Promise<Twin | undefined> {
  if (encoding === 'zstd' && !zstdAvailable) return undefined
  const path = fsPath + twinSuffixes[encoding]
  const stats = await stat(path).catch(() => undefined)
  // Not smaller than the file: nothing to gain by sending it.
  if (stats === undefined || !stats.isFile() || stats.size >= body.length) return undefined
  const verdict = await confinement.check(path)
  if (!verdict.allowed) return undefined
  // The checked real path, not the link again (as for the file, file-cache.ts).
  const bytes = await readFile(verdict.realPath).catch(() => undefined)
  if (bytes === undefined) return undefined
  const options = { maxOutputLength: body.length + 1 }
  const decoded = await decode(bytes, encoding, options).catch(() => undefined)
  return decoded !== undefined && decoded.equals(body) ? { kind: 'match', bytes } : { kind: 'stale' }
}

function decode (bytes: Buffer, encoding: TwinEncoding, options: { maxOutputLength: number }): Promise<Buffer> {
  if (encoding === 'br') return brotliDecompressAsync(bytes, options)
  if (encoding === 'gzip') return gunzipAsync(bytes, options)
  return decompressZstd(bytes, options.maxOutputLength)
}

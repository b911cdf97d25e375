import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { promisify } from 'node:util'
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib'
import { isUtf8MimeType, mime } from '@fastify/send'
import { LRUCache } from 'lru-cache'
import { cacheControlFor } from './cache-policy.js'
import { readTwin, twinSuffixes } from './precompressed.js'
import type { Refusal, RootConfinement } from './root-confinement.js'
import { compressZstd, zstdAvailable } from './zstd.js'

const brotli = promisify(brotliCompress)
const gzipAsync = promisify(gzip)

/** A small file held in memory with everything a response needs, computed once per version. */
export interface CachedFile {
  /** Path below the root as asked for (links unresolved): its cache policy, log lines. */
  readonly relativePath: string
  /** Where it was read from, symbolic links unresolved: checked again before a range is streamed. */
  readonly fsPath: string
  readonly body: Buffer
  readonly size: number
  readonly mtimeMs: number
  /** Strong: a hash of the content. */
  readonly etag: string
  readonly lastModified: string
  readonly contentType: string
  readonly cacheControl: string
  readonly compressible: boolean
  br?: Buffer
  gzip?: Buffer
  /** Only where this Node has zstd (zstd.ts). */
  zstd?: Buffer
}

/** What a URL path resolves to on disk. */
export type Resolution =
  | { readonly kind: 'file', readonly file: CachedFile }
  /** Too large to cache: streamed by @fastify/static. */
  | { readonly kind: 'large', readonly fsPath: string, readonly mtimeMs: number, readonly size: number }
  /** A directory asked for without its trailing slash: one 301 to it. */
  | { readonly kind: 'redirect' }
  | { readonly kind: 'missing' }

interface Entry {
  resolution: Resolution
  checkedAt: number
  /** The file that was checked (for revalidation by stat). */
  readonly fsPath: string | undefined
  /** Its real path when it was checked: a link pointed elsewhere since means the entry is stale. */
  readonly realPath?: string
}

export interface FileCacheOptions {
  readonly root: string
  /** Total bytes of bodies and compressed variants; 0 caches nothing. */
  readonly maxBytes: number
  /** Files larger than this are streamed, never cached. */
  readonly maxFileBytes: number
  /** A cached answer is re-checked against the disk when older than this. */
  readonly revalidateMs: number
  /** Which files may be served (root-confinement.ts); checked on every load and revalidation. */
  readonly confinement: RootConfinement
  /** Told about each URL path refused by the confinement (the path only, never the link's target). */
  readonly onRefused?: (urlPath: string, reason: Refusal) => void
  /** Told about each compressed twin (`/x.html.br`, relative to the root) that does not hold its file: ignored. */
  readonly onStaleTwin?: (relativePath: string) => void
  /** Files in the root that are never served, by path or real path: the site's rules files (site-rules/). */
  readonly unserved?: (fsPath: string, realPath: string) => boolean
}

const compressibleTypes = /^(?:text\/|application\/(?:javascript|json|xml|rss\+xml|atom\+xml|manifest\+json)|image\/svg\+xml)/
const minCompressBytes = 256

/**
 * Resolves URL paths to files (index.html for directories, `/a` → `a.html`
 * clean URLs, one redirect for a directory without its slash) and keeps small
 * files in memory with a strong ETag and their brotli, gzip and zstd variants,
 * compressed once per version in the background — never per request.
 * Bounded by `maxBytes` (LRU); changes on disk are seen after `revalidateMs`.
 * When the root's real path moves (a deploy by symlink swap,
 * root-confinement.ts), every answer is dropped at once: none of the old
 * tree survives the move, however recently it was checked.
 */
export class FileCache {
  readonly #options: FileCacheOptions
  readonly #entries: LRUCache<string, Entry>
  readonly #loading = new Map<string, Promise<Entry>>()
  readonly #revalidating = new Map<string, Promise<void>>()
  #checks = 0
  // Bumped by clear(): a load or check that began before is not stored.
  #generation = 0

  constructor (options: FileCacheOptions) {
    this.#options = options
    // Bounded by bytes only (an entry counts at least 256): with `max` set,
    // lru-cache allocates its arrays for `max` entries up front — 3.5 MiB
    // per worker for 100,000 entries, whatever the root holds.
    this.#entries = new LRUCache<string, Entry>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (entry) => entrySize(entry)
    })
    options.confinement.onMove(() => this.clear())
  }

  /**
   * Forgets every answer, and the loads and checks under way: they finish
   * for the requests that wait on them, but what they find is not kept, and
   * a request from now on starts its own.
   */
  clear (): void {
    this.#generation++
    this.#entries.clear()
    this.#loading.clear()
    this.#revalidating.clear()
  }

  /** `urlPath`: the decoded path without query, already checked by request-guard.ts. */
  async resolve (urlPath: string, now = Date.now()): Promise<Resolution> {
    const cached = this.#entries.get(urlPath)
    if (cached !== undefined && now - cached.checkedAt < this.#options.revalidateMs) return cached.resolution
    if (cached !== undefined) await this.#revalidate(urlPath, cached)
    return (this.#entries.get(urlPath) ?? await this.#loadOnce(urlPath)).resolution
  }

  /**
   * The cached file for `urlPath` if it is in memory: no I/O, no promise, the
   * fast path. When it was checked against the disk more than `revalidateMs`
   * ago, one check starts in the background and this answer is still served,
   * so a busy file costs one `stat` per interval instead of one per request
   * that arrives while the check runs (like nginx's open_file_cache_valid).
   */
  peekFresh (urlPath: string, now: number): CachedFile | undefined {
    const entry = this.#entries.get(urlPath)
    if (entry === undefined || entry.resolution.kind !== 'file') return undefined
    if (now - entry.checkedAt >= this.#options.revalidateMs) this.#revalidate(urlPath, entry).catch(() => {})
    return entry.resolution.file
  }

  get bytes (): number {
    return this.#entries.calculatedSize
  }

  /** How often a cached answer was checked against the disk. */
  get checks (): number {
    return this.#checks
  }

  /** One check per path at a time: unchanged → fresh again; changed → reloaded (or dropped if it cannot be cached). */
  #revalidate (urlPath: string, entry: Entry): Promise<void> {
    let running = this.#revalidating.get(urlPath)
    if (running === undefined) {
      this.#checks++
      const generation = this.#generation
      const check = (async () => {
        const unchanged = await this.#unchanged(entry)
        // Cleared meanwhile: the entry is gone, and so is any reason to reload it here.
        if (generation !== this.#generation) return
        if (unchanged) {
          entry.checkedAt = Date.now()
          return
        }
        this.#entries.delete(urlPath)
        await this.#loadOnce(urlPath)
      })().finally(() => { if (this.#revalidating.get(urlPath) === check) this.#revalidating.delete(urlPath) })
      this.#revalidating.set(urlPath, check)
      running = check
    }
    return running
  }

  /** Loads `urlPath` once however many requests wait for it, and caches what fits. */
  async #loadOnce (urlPath: string): Promise<Entry> {
    let loading = this.#loading.get(urlPath)
    if (loading === undefined) {
      const generation = this.#generation
      const load = this.#load(urlPath).then((entry) => {
        // A load that began before clear() may hold the old tree: answered, never kept.
        if (generation === this.#generation && this.#options.maxBytes > 0 && entrySize(entry) <= this.#options.maxBytes) this.#entries.set(urlPath, entry)
        return entry
      }).finally(() => { if (this.#loading.get(urlPath) === load) this.#loading.delete(urlPath) })
      this.#loading.set(urlPath, load)
      loading = load
    }
    return await loading
  }

  async #unchanged (entry: Entry): Promise<boolean> {
    const { resolution, fsPath } = entry
    if (fsPath === undefined) return false
    const verdict = await this.#options.confinement.check(fsPath)
    if (!verdict.allowed || verdict.realPath !== entry.realPath) return false
    const stats = await stat(fsPath).catch(() => undefined)
    if (resolution.kind === 'file' || resolution.kind === 'large') {
      const known = resolution.kind === 'file' ? resolution.file : resolution
      return stats !== undefined && stats.isFile() && stats.mtimeMs === known.mtimeMs && stats.size === known.size
    }
    if (resolution.kind === 'redirect') return stats !== undefined && stats.isDirectory()
    return false
  }

  async #load (urlPath: string): Promise<Entry> {
    const now = Date.now()
    const segments = urlPath.split('/')
    // Dotfiles and dot-directories are never served, but for /.well-known/ (RFC 8615: certbot --webroot).
    const named = segments[1] === '.well-known' ? segments.slice(2) : segments
    if (named.some((segment) => segment.startsWith('.'))) return { resolution: { kind: 'missing' }, checkedAt: now, fsPath: undefined }
    const relative = segments.filter(Boolean).join(sep)
    const base = join(this.#options.root, relative)
    const candidates = urlPath.endsWith('/')
      ? [join(base, 'index.html')]
      : [base, `${base}.html`]
    for (const fsPath of candidates) {
      const stats = await stat(fsPath).catch(() => undefined)
      if (stats === undefined) continue
      if (stats.isDirectory() && fsPath !== base) continue
      if (!stats.isDirectory() && !stats.isFile()) continue
      const verdict = await this.#options.confinement.check(fsPath)
      if (!verdict.allowed) {
        this.#options.onRefused?.(urlPath, verdict.reason)
        return { resolution: { kind: 'missing' }, checkedAt: now, fsPath: undefined }
      }
      const { realPath } = verdict
      if (this.#options.unserved?.(fsPath, realPath) === true) continue
      if (stats.isDirectory()) return { resolution: { kind: 'redirect' }, checkedAt: now, fsPath, realPath }
      const relativePath = fsPath.slice(this.#options.root.length).split(sep).join('/')
      if (stats.size > this.#options.maxFileBytes) {
        return { resolution: { kind: 'large', fsPath, mtimeMs: stats.mtimeMs, size: stats.size }, checkedAt: now, fsPath, realPath }
      }
      const file = await this.#read(fsPath, realPath, relativePath, stats.mtimeMs)
      if (file === undefined) continue
      return { resolution: { kind: 'file', file }, checkedAt: now, fsPath, realPath }
    }
    // A missing file is re-checked like any other: it may appear.
    return { resolution: { kind: 'missing' }, checkedAt: now, fsPath: undefined }
  }

  // The bytes come from the real path that was checked, not through the
  // links again: a link (or the root) repointed between the check and the
  // read cannot put another file's bytes under this one's verdict. The type
  // and the twins go by the name that was asked for.
  async #read (fsPath: string, realPath: string, relativePath: string, mtimeMs: number): Promise<CachedFile | undefined> {
    const body = await readFile(realPath).catch(() => undefined)
    if (body === undefined) return undefined
    const type = mime.getType(fsPath) ?? 'application/octet-stream'
    const contentType = isUtf8MimeType(type) ? `${type}; charset=utf-8` : type
    const file: CachedFile = {
      relativePath,
      fsPath,
      body,
      size: body.length,
      mtimeMs,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      lastModified: new Date(Math.floor(mtimeMs / 1000) * 1000).toUTCString(),
      contentType,
      cacheControl: cacheControlFor(relativePath, type),
      compressible: compressibleTypes.test(type) && body.length >= minCompressBytes
    }
    if (file.compressible) await this.#compress(file)
    return file
  }

  async #compress (file: CachedFile): Promise<void> {
    const { body, fsPath } = file
    // Twins the site ships (precompressed.ts) first: checked, they cost a
    // decompression instead of a compression.
    const [br, gz, zst] = await Promise.all((['br', 'gzip', 'zstd'] as const).map(async (encoding) => {
      const twin = await readTwin(fsPath, body, encoding, this.#options.confinement)
      if (twin?.kind === 'stale') this.#options.onStaleTwin?.(file.relativePath + twinSuffixes[encoding])
      return twin?.kind === 'match' ? twin.bytes : undefined
    }))
    // The first visitor of a new post gets it compressed: gzip (a few
    // milliseconds for a cached file, in the thread pool) before the first
    // answer; brotli at quality 11 costs ten times more, so it follows off
    // the request path and is preferred once it is there.
    const gzipped = gz ?? await gzipAsync(body, { level: 9 }).catch(() => undefined)
    if (gzipped !== undefined && gzipped.length < body.length) file.gzip = gzipped
    // zstd, like brotli, off the request path (level 19: zstd.ts).
    if (zst !== undefined) file.zstd = zst
    else if (zstdAvailable) compressZstd(body).then((compressed) => { if (compressed.length < body.length) file.zstd = compressed }, () => {})
    if (br !== undefined) {
      file.br = br
      return
    }
    brotli(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } })
      .then((compressed) => { if (compressed.length < body.length) file.br = compressed }, () => {})
  }
}

function entrySize (entry: Entry): number {
  const { resolution } = entry
  if (resolution.kind !== 'file') return 256
  const { file } = resolution
  // A variant still being made counts as large as the file.
  const zstd = file.zstd?.length ?? (zstdAvailable && file.compressible ? file.body.length : 0)
  return 512 + file.body.length + (file.br?.length ?? file.body.length) + (file.gzip?.length ?? file.body.length) + zstd
}

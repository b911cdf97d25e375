import * as zlib from 'node:zlib'

/**
 * zstd (RFC 8878; `Content-Encoding: zstd`, RFC 9659) where this Node has it:
 * `zlib.zstdCompress` came in Node 22.15 and 23.8. On Node 20 both functions
 * here are `undefined`: no zstd variant is made, no `.zst` twin is read, and
 * `Accept-Encoding: zstd` gets what it got before. @types/node 20 does not
 * describe them, hence the local types.
 */
interface ZstdZlib {
  zstdCompress?: (input: Buffer, options: object, callback: (error: Error | null, result: Buffer) => void) => void
  zstdDecompress?: (input: Buffer, options: object, callback: (error: Error | null, result: Buffer) => void) => void
  constants: Record<string, number | undefined>
}

const { zstdCompress, zstdDecompress, constants } = zlib as unknown as ZstdZlib

/** True when this Node can make and check zstd variants. */
export const zstdAvailable = typeof zstdCompress === 'function' && typeof zstdDecompress === 'function'

// Browsers decode zstd with at most an 8 MiB window (RFC 9659 §3: a server
// must not send more): 2^23.
const windowLogMax = 23
// Level 19, the highest without zstd's "ultra" levels (whose windows pass
// 8 MiB): made once per file version off the request path, like brotli 11.
const level = 19

/**
 * zstd of `body` at level 19. The source size is pledged, so the frame
 * records it and zstd sizes its window and tables to the file (a 3 KB page
 * gets a 3 KB window, not 8 MiB of tables).
 */
export function compressZstd (body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (zstdCompress === undefined) return reject(new Error('no zstd in this Node'))
    const params: Record<number, number> = { [constants.ZSTD_c_compressionLevel as number]: level }
    zstdCompress(body, { params, pledgedSrcSize: body.length }, (error, result) => error === null ? resolve(result) : reject(error))
  })
}

/** Decompresses a `.zst` twin, at most `maxOutputLength` bytes and with a window browsers accept. */
export function decompressZstd (bytes: Buffer, maxOutputLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (zstdDecompress === undefined) return reject(new Error('no zstd in this Node'))
    const params: Record<number, number> = { [constants.ZSTD_d_windowLogMax as number]: windowLogMax }
    zstdDecompress(bytes, { params, maxOutputLength }, (error, result) => error === null ? resolve(result) : reject(error))
  })
}

import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// Walk up instead of a fixed '../..': this file runs both compiled (dist/src)
// and from source under the test loader (src).
function findPackageRoot (start: string): string {
  let dir = start
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`package.json not found above ${start}`)
    dir = parent
  }
  return dir
}

/** The installed package's root directory. */
export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)))

/** The sample blog served when no `--root` is given. */
export const bundledPublicDir = join(packageRoot, 'public')

export const packageVersion: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version

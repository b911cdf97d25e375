// @ts-check
/**
 * A private copy of seraph's build, taken when the bench starts, so that a
 * rebuild of dist/ during the bench (a test run, an editor's watch mode) does
 * not change the server half-way through the measurements.
 */
import { createHash } from 'node:crypto'
import { copyFileSync, cpSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join, relative } from 'node:path'

/**
 * Copies package.json and dist/{src,workers} into `dir` and links node_modules,
 * so the copy runs exactly like the original.
 * @param {string} repoRoot
 * @param {string} dir an empty folder
 * @returns {{ dir: string, build: string }} `build`: a short hash of the copied JavaScript
 */
export function snapshotSeraph (repoRoot, dir) {
  copyFileSync(join(repoRoot, 'package.json'), join(dir, 'package.json'))
  for (const part of ['dist/src', 'dist/workers']) {
    cpSync(join(repoRoot, part), join(dir, part), { recursive: true, filter: (source) => !source.endsWith('.map') })
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return { dir, build: hashTree(join(dir, 'dist')) }
}

/** @param {string} root */
function hashTree (root) {
  const hash = createHash('sha256')
  /** @param {string} folder */
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) {
        walk(path)
      } else {
        hash.update(relative(root, path)).update('\0').update(readFileSync(path)).update('\0')
      }
    }
  }
  walk(root)
  return hash.digest('hex').slice(0, 12)
}

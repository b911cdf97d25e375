// @ts-check
/**
 * What every bench script needs before it starts a contender: a private copy
 * of seraph's build and one ECDSA P-256 certificate that every contender uses.
 */
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { snapshotSeraph } from './snapshot.mjs'

/**
 * @param {string} repoRoot
 * @param {string} tmpDir removed by the caller when the bench ends
 * @param {number} cores workers for the multi-process contenders
 * @returns {Promise<{ ctx: import('./contenders.mjs').BenchContext, build: string }>} `build`: a short hash of seraph's copied JavaScript
 */
export async function prepareContext (repoRoot, tmpDir, cores) {
  const seraph = snapshotSeraph(repoRoot, await mkdtemp(join(tmpDir, 'seraph-')))
  const certDir = join(tmpDir, 'cert')
  await mkdir(certDir)
  const generator = /** @type {{ generateCertificate: (o: { dir: string, hosts?: string[] }) => Promise<void> }} */ (
    await import(pathToFileURL(join(seraph.dir, 'dist/src/primary/certificate-generator.js')).href))
  await generator.generateCertificate({ dir: certDir, hosts: ['localhost', '127.0.0.1'] })
  return {
    build: seraph.build,
    ctx: {
      repoRoot,
      seraphDir: seraph.dir,
      root: join(repoRoot, 'public'),
      certPath: join(certDir, 'cert.pem'),
      keyPath: join(certDir, 'key.pem'),
      ca: readFileSync(join(certDir, 'ca.pem')),
      tmpDir,
      cores
    }
  }
}

import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateCertificate } from '../certificate-generator.js'
import type { StoredCertificate } from './state-store.js'

/**
 * A throw-away certificate for `names`, served until each name has its real
 * one, so that no handshake is refused while the first order runs. Made in
 * memory (through a private temporary folder), never written to --state-dir.
 */
export async function temporaryCertificate (names: readonly string[]): Promise<StoredCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'seraph-temporary-'))
  try {
    await generateCertificate({ dir, hosts: names, caName: 'seraph temporary certificate (ACME order pending)', notAfter: new Date(Date.now() + 7 * 86_400_000) })
    return { key: await readFile(join(dir, 'key.pem'), 'utf8'), chain: await readFile(join(dir, 'cert.pem'), 'utf8') }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

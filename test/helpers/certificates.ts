import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateCertificate, type GenerateOptions } from '../../src/primary/certificate-generator.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface TestCertificate {
  readonly dir: string
  readonly cert: string
  readonly key: string
  readonly ca: string
}

/**
 * A fresh temporary directory, removed after the test. Mode 0755, not
 * mkdtemp's 0700: tests run as root here, and a seraph started as root runs
 * its workers as nobody, who must read a --root made in it. (Keys in it stay
 * 0600: the primary reads them.)
 */
export function tempDir (t: Teardown, prefix = 'seraph-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(dir, 0o755)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Generates a CA and server certificate (see certificate-generator.ts) under `parent/name`. */
export async function makeCertificate (parent: string, name: string, options: Omit<GenerateOptions, 'dir'> = {}): Promise<TestCertificate> {
  const dir = join(parent, name)
  mkdirSync(dir, { recursive: true })
  await generateCertificate({ dir, ...options })
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'ca.pem') }
}

/**
 * A generated pair copied to `cert.pem`/`key.pem` of a fresh temporary
 * directory, the files seraph is started with; `use` copies another pair
 * over them (a certificate swap before a reload).
 */
export async function swappableCertificate (t: Teardown, name = 'first') {
  const dir = tempDir(t)
  const first = await makeCertificate(dir, name)
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const use = (pair: TestCertificate): void => {
    copyFileSync(pair.cert, cert)
    copyFileSync(pair.key, key)
  }
  use(first)
  return { dir, cert, key, first, ca: readFileSync(first.ca), use }
}

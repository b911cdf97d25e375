import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { generateCertificate } from './certificate-generator.js'
import { isSeraphError, SeraphError } from '../shared/errors.js'
import type { Logger } from '../shared/logger.js'
import type { PemPair } from '../shared/messages.js'

/** A certificate and key that belong together and are valid now. */
export interface CertificatePair {
  readonly cert: Buffer
  readonly key: Buffer
  readonly subject: string
  readonly notAfter: Date
  readonly daysLeft: number
  readonly fingerprint256: string
}

/** Fewer days than this left on the certificate gets a warning at start-up. */
export const expiryWarningDays = 14

/**
 * Reads and checks a PEM certificate (optionally followed by its chain) and key:
 * both readable, the key matches, the certificate is valid now.
 */
export function loadCertificatePair (certPath: string, keyPath: string, now = new Date()): CertificatePair {
  const cert = readPem('--cert', certPath)
  const key = readPem('--key', keyPath)
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch {
    throw new SeraphError('SERAPH_ERR_CERT_INVALID', '--cert', certPath)
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(key)
  } catch {
    throw new SeraphError('SERAPH_ERR_KEY_INVALID', '--key', keyPath)
  }
  if (!x509.checkPrivateKey(privateKey)) throw new SeraphError('SERAPH_ERR_CERT_MISMATCH', '--key', keyPath, certPath)
  const notBefore = new Date(x509.validFrom)
  const notAfter = new Date(x509.validTo)
  if (now < notBefore) throw new SeraphError('SERAPH_ERR_CERT_NOT_YET_VALID', '--cert', certPath, notBefore.toISOString())
  if (now >= notAfter) throw new SeraphError('SERAPH_ERR_CERT_EXPIRED', '--cert', certPath, notAfter.toISOString())
  return {
    cert,
    key,
    subject: x509.subject.replace(/\n/g, ', '),
    notAfter,
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
    fingerprint256: x509.fingerprint256
  }
}

function readPem (flag: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new SeraphError('SERAPH_ERR_CERT_UNREADABLE', flag, path, (err as NodeJS.ErrnoException).code ?? 'error')
  }
}

export interface DevCertificate {
  readonly certPath: string
  readonly keyPath: string
  readonly caPath: string
  readonly created: boolean
}

/**
 * Returns the development certificate in `dir`, creating it on first use (and
 * again when it is about to expire). Safe when several processes start at once:
 * each generates into its own folder and the first rename wins.
 */
export async function ensureDevCertificate (dir: string): Promise<DevCertificate> {
  const paths = { certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem'), caPath: join(dir, 'ca.pem') }
  if (isUsable(paths.certPath, paths.keyPath)) return { ...paths, created: false }
  const parent = join(dir, '..')
  let staging: string | undefined
  try {
    await mkdir(parent, { recursive: true })
    staging = await mkdtemp(join(parent, '.dev-cert-'))
    await generateCertificate({ dir: staging })
    // Only an unusable (expired) certificate is removed; a fresh one that
    // another process just created makes our rename fail, and we use theirs.
    if (existsSync(dir) && !isUsable(paths.certPath, paths.keyPath)) await rm(dir, { recursive: true, force: true })
    await rename(staging, dir)
    staging = undefined
  } catch (err) {
    if (!isUsable(paths.certPath, paths.keyPath)) {
      throw new SeraphError('SERAPH_ERR_DEV_CERT_FAILED', dir, (err as Error).message)
    }
    // Another process won the race: its certificate is as good as ours.
  } finally {
    if (staging !== undefined) await rm(staging, { recursive: true, force: true })
  }
  return { ...paths, created: true }
}

function isUsable (certPath: string, keyPath: string): boolean {
  try {
    return loadCertificatePair(certPath, keyPath).daysLeft >= expiryWarningDays
  } catch {
    return false
  }
}

/** The --cert/--key pairs as the workers get them: PEM, read here by the primary. */
export interface ManualPems {
  /** The first pair (or the development certificate); `undefined` with --domain alone (`certPath` ''). */
  readonly defaultPair: PemPair | undefined
  readonly extraPairs: readonly PemPair[]
}

/**
 * Reads and checks the default pair and every further --cert/--key pair
 * (`pairs[0]` is the default one when --cert is given). The primary reads them,
 * not the workers: they may run as a user that cannot read the key
 * (/etc/letsencrypt/live/NAME/privkey.pem is root's, mode 0600).
 */
export function readManualPems (certPath: string, keyPath: string, pairs: ReadonlyArray<{ readonly cert: string, readonly key: string }>): ManualPems & { readonly first: CertificatePair | undefined } {
  const first = certPath === '' ? undefined : loadCertificatePair(certPath, keyPath)
  const extra = pairs.slice(1).map((pair) => loadCertificatePair(pair.cert, pair.key))
  return { first, defaultPair: first === undefined ? undefined : pem(first), extraPairs: extra.map(pem) }
}

function pem (pair: CertificatePair): PemPair {
  return { cert: pair.cert.toString('latin1'), key: pair.key.toString('latin1') }
}

/**
 * SIGUSR2, in the primary: the files are read and checked before any worker
 * is told of them; `undefined` (and one error line) when they are not
 * usable, and the current certificate stays. ACME certificates need no
 * signal: they reach the workers when renewed.
 */
export function readCertificateReload (log: Logger, certPath: string, keyPath: string, pairs: ReadonlyArray<{ readonly cert: string, readonly key: string }>): ManualPems | undefined {
  try {
    if (certPath === '') {
      log.info('certificate reload: no --cert to re-read')
      return undefined
    }
    const pems = readManualPems(certPath, keyPath, pairs)
    log.info({ fingerprint256: pems.first?.fingerprint256, notAfter: pems.first?.notAfter.toISOString() }, 'certificate reload')
    return { defaultPair: pems.defaultPair, extraPairs: pems.extraPairs }
  } catch (err) {
    log.error({ code: isSeraphError(err) ? err.code : undefined }, `certificate reload refused, the current one stays: ${(err as Error).message}`)
    return undefined
  }
}

import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { SeraphError } from '../../shared/errors.js'

/** A certificate chain (leaf first) and its private key, PEM. */
export interface StoredCertificate {
  readonly key: string
  readonly chain: string
}

/**
 * --state-dir: everything seraph keeps, private to its user (folders 0700,
 * files 0600). One folder per ACME directory URL, so a staging certificate is
 * never served after switching to production:
 *   <state-dir>/<directory host and path>/account.key
 *   <state-dir>/<directory host and path>/certificates/<name>.pem  (key, then chain)
 * Key and chain share one file so that a single rename replaces both: a crash
 * at any moment leaves either the old pair or the new one, never a mix.
 */
export class StateStore {
  readonly root: string
  readonly #dir: string

  constructor (root: string, directoryUrl: string) {
    this.root = root
    this.#dir = join(root, directoryFolder(directoryUrl))
  }

  /** Creates the folders (mode 0700); throws SERAPH_ERR_STATE_DIR when it cannot. */
  async open (): Promise<void> {
    try {
      await mkdir(join(this.#dir, 'certificates'), { recursive: true, mode: 0o700 })
      for (const dir of [this.root, this.#dir, join(this.#dir, 'certificates')]) await chmod(dir, 0o700)
      // Proves now, not at the first renewal, that the folder is writable.
      const probe = join(this.#dir, `.probe-${process.pid}`)
      await writeAtomically(probe, '')
      await rm(probe)
    } catch (err) {
      throw new SeraphError('SERAPH_ERR_STATE_DIR', this.root, (err as NodeJS.ErrnoException).code ?? (err as Error).message)
    }
  }

  async readAccountKey (): Promise<string | undefined> {
    return readIfPresent(join(this.#dir, 'account.key'))
  }

  writeAccountKey (pem: string): Promise<void> {
    return writeAtomically(join(this.#dir, 'account.key'), pem)
  }

  /** undefined when there is no file; throws when the file cannot be read or holds no key and chain. */
  async readCertificate (name: string): Promise<StoredCertificate | undefined> {
    const text = await readIfPresent(this.#certificatePath(name))
    if (text === undefined) return undefined
    const key = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----\n?/.exec(text)?.[0]
    const chain = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.join('')
    // Present but not a key and a chain: not the same as absent, the caller warns.
    if (key === undefined || chain === undefined) throw new Error(`${this.#certificatePath(name)} holds no ${key === undefined ? 'private key' : 'certificate'}`)
    return { key, chain }
  }

  writeCertificate (name: string, stored: StoredCertificate): Promise<void> {
    return writeAtomically(this.#certificatePath(name), `${stored.key.trimEnd()}\n${stored.chain.trimEnd()}\n`)
  }

  #certificatePath (name: string): string {
    return join(this.#dir, 'certificates', `${name}.pem`)
  }
}

/** The ACME directory as a folder (and store key) name: its host and path. */
export function directoryFolder (directoryUrl: string): string {
  const url = new URL(directoryUrl)
  return `${url.host}${url.pathname}`.replace(/[^a-zA-Z0-9.-]+/g, '-').replace(/-+$/, '')
}

async function readIfPresent (path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Write to a new file (0600), fsync it, rename it over `path`, fsync the folder: all or nothing, even across a power cut. */
async function writeAtomically (path: string, data: string): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const file = await open(temporary, 'wx', 0o600)
  try {
    await file.writeFile(data)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await rename(temporary, path)
  } catch (err) {
    await rm(temporary, { force: true })
    throw err
  }
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

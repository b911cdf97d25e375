import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface GenerateOptions {
  /** Directory to write `ca.pem`, `ca-key.pem`, `cert.pem`, `key.pem` into; must exist. */
  readonly dir: string
  /** DNS names and IP addresses the certificate is for; the first is its common name. */
  readonly hosts?: readonly string[]
  readonly notBefore?: Date
  readonly notAfter?: Date
  readonly caName?: string
  /** The server key's type; ECDSA P-256 by default. The CA's key is always ECDSA. */
  readonly keyType?: 'ecdsa' | 'rsa'
}

const defaultHosts = ['localhost', '127.0.0.1', '::1']

/**
 * Creates a local CA and an ECDSA P-256 (or RSA 2048) server certificate signed by it, with the
 * `openssl` CLI (like mkcert: trust `ca.pem` once, and every leaf it signs works).
 */
export async function generateCertificate (options: GenerateOptions): Promise<void> {
  const hosts = options.hosts ?? defaultHosts
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000)
  const notAfter = options.notAfter ?? new Date(Date.now() + 365 * 86_400_000)
  const work = await mkdtemp(join(options.dir, '.openssl-'))
  try {
    const cnf = join(work, 'openssl.cnf')
    await writeFile(cnf, opensslConfig(work, hosts, options.caName ?? 'seraph development CA'))
    await writeFile(join(work, 'index.txt'), '')
    await writeFile(join(work, 'serial'), randomBytes(8).toString('hex').replace(/^./, '1') + '\n')
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    await openssl(['req', '-x509', '-config', cnf, '-extensions', 'root', ...ec, '-days', '3650',
      '-subj', `/CN=${options.caName ?? 'seraph development CA'}`,
      '-keyout', join(options.dir, 'ca-key.pem'), '-out', join(options.dir, 'ca.pem')])
    const leafKey = options.keyType === 'rsa' ? ['-newkey', 'rsa:2048', '-nodes'] : ec
    await openssl(['req', '-new', '-config', cnf, ...leafKey, '-subj', `/CN=${hosts[0] ?? 'localhost'}`,
      '-keyout', join(options.dir, 'key.pem'), '-out', join(work, 'leaf.csr')])
    await openssl(['ca', '-batch', '-config', cnf, '-extensions', 'leaf', '-notext',
      '-cert', join(options.dir, 'ca.pem'), '-keyfile', join(options.dir, 'ca-key.pem'),
      '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter),
      '-in', join(work, 'leaf.csr'), '-out', join(options.dir, 'cert.pem')])
    await chmod(join(options.dir, 'key.pem'), 0o600)
    await chmod(join(options.dir, 'ca-key.pem'), 0o600)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

async function openssl (args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 })
  } catch (err) {
    const error = err as NodeJS.ErrnoException & { stderr?: string }
    if (error.code === 'ENOENT') throw new Error('the openssl command is not installed', { cause: err })
    const detail = (error.stderr ?? error.message).trim().split('\n').at(-1)
    throw new Error(`openssl ${args[0] ?? ''} failed: ${detail ?? 'unknown error'}`, { cause: err })
  }
}

// openssl ca wants YYYYMMDDHHMMSSZ.
function asn1Time (date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z')
}

function opensslConfig (work: string, hosts: readonly string[], caName: string): string {
  const altNames = hosts.map((host) => isIP(host) === 0 ? `DNS:${host}` : `IP:${host}`).join(',')
  return `[ca]
default_ca = local_ca
[local_ca]
database = ${work}/index.txt
new_certs_dir = ${work}
serial = ${work}/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
[any_name]
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ${caName}
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${altNames}
authorityKeyIdentifier = keyid
`
}

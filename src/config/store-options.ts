import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { OptionSpec } from './option-spec.js'
import { SeraphError } from '../shared/errors.js'

/** The shared-store options (src/primary/store/); validated by {@link storeConfig}. */
export const storeOptionSpecs = {
  store: {
    flag: '--store',
    env: 'SERAPH_STORE',
    placeholder: 'URL',
    defaultText: 'none: everything stays on this host',
    description: 'share ACME certificates, ticket keys and TLS sessions with other seraph hosts through Redis: redis://[user:pass@]host:port/db or rediss://'
  },
  storeKeyFile: {
    flag: '--store-key-file',
    env: 'SERAPH_STORE_KEY_FILE',
    placeholder: 'FILE',
    defaultText: 'none (required with --store)',
    description: '32-byte key that encrypts everything seraph puts in --store; the same file on every host (openssl rand 32 > store.key)'
  }
} as const satisfies Record<string, OptionSpec>

/** The length of an AES-256 key. */
export const storeKeyLength = 32

export interface StoreConfig {
  /** redis:// or rediss://, credentials included (never logged). */
  readonly url: string
  readonly keyFile: string
  readonly key: Buffer
}

/** `undefined` without --store; the URL is checked and the key file read now, so a typo stops seraph at start. */
export function storeConfig (url: string | undefined, keyFile: string | undefined, label: (name: 'store' | 'storeKeyFile') => string, cwd: string): StoreConfig | undefined {
  if (url === undefined) {
    if (keyFile !== undefined) throw new SeraphError('SERAPH_ERR_STORE_INCOMPLETE', label('storeKeyFile'), '--store')
    return undefined
  }
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {}
  if (parsed === undefined || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '' ||
    !/^\/?\d*$/.test(parsed.pathname)) {
    throw new SeraphError('SERAPH_ERR_STORE_URL_INVALID', label('store'), redacted(url))
  }
  if (keyFile === undefined) throw new SeraphError('SERAPH_ERR_STORE_INCOMPLETE', label('store'), '--store-key-file')
  const path = resolve(cwd, keyFile)
  return { url, keyFile: path, key: readStoreKey(label('storeKeyFile'), path) }
}

/** Raw 32 bytes (`openssl rand 32`), or 64 hex digits (`openssl rand -hex 32`). */
function readStoreKey (flag: string, path: string): Buffer {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    throw new SeraphError('SERAPH_ERR_STORE_KEY_UNREADABLE', flag, path, (err as NodeJS.ErrnoException).code ?? 'error')
  }
  if (bytes.length === storeKeyLength) return bytes
  const text = bytes.toString('latin1').trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex')
  throw new SeraphError('SERAPH_ERR_STORE_KEY_INVALID', flag, path, bytes.length)
}

/** The URL without its password, for error lines. */
function redacted (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

const version = 1
const ivLength = 12
const tagLength = 16

/**
 * AES-256-GCM with a random IV per value. The key name is authenticated data:
 * a value copied under another key does not open.
 * Layout: version (1 byte) | IV (12) | tag (16) | ciphertext.
 */
export function seal (key: Buffer, name: string, plaintext: Buffer): Buffer {
  const iv = randomBytes(ivLength)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(name))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.of(version), iv, cipher.getAuthTag(), body])
}

/** Throws when the value was sealed with another key, under another name, or altered. */
export function unseal (key: Buffer, name: string, sealed: Buffer): Buffer {
  if (sealed.length < 1 + ivLength + tagLength || sealed[0] !== version) throw new Error(`the value of ${name} is not sealed by seraph`)
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + ivLength))
  decipher.setAAD(Buffer.from(name))
  decipher.setAuthTag(sealed.subarray(1 + ivLength, 1 + ivLength + tagLength))
  try {
    return Buffer.concat([decipher.update(sealed.subarray(1 + ivLength + tagLength)), decipher.final()])
  } catch {
    throw new Error(`the value of ${name} does not open with --store-key-file (another key on another host?)`)
  }
}

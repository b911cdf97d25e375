import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { SeraphError } from '../shared/errors.js'

/** Node's `server.setTicketKeys()` takes exactly 48 bytes: name, HMAC and AES keys. */
export const ticketKeyLength = 48

/**
 * The session-ticket keys of every worker, owned by the primary: generated at
 * start (or read from `--ticket-key-file`, shared between machines) and
 * rotated on a schedule. Node keeps one key only, so a ticket issued before
 * a rotation is not resumed afterwards: the client falls back to a full
 * handshake, it never fails.
 */
export class TicketKeys {
  readonly #file: string | undefined
  #keys: Buffer

  constructor (file: string | undefined) {
    this.#file = file
    this.#keys = file === undefined ? randomBytes(ticketKeyLength) : readTicketKeyFile(file)
  }

  /** The current keys, base64 for the IPC channel. */
  get current (): string {
    return this.#keys.toString('base64')
  }

  get fromFile (): boolean {
    return this.#file !== undefined
  }

  /** Keys made elsewhere: the fleet's, from the shared store (base64). */
  replace (keys: string): void {
    this.#keys = Buffer.from(keys, 'base64')
  }

  /** New random keys; with a key file, re-reads the file instead. Returns the new keys. */
  rotate (): string {
    this.#keys = this.#file === undefined ? randomBytes(ticketKeyLength) : readTicketKeyFile(this.#file)
    return this.current
  }
}

/** Reads a 48-byte key file (`openssl rand 48 > ticket.key`). */
export function readTicketKeyFile (file: string): Buffer {
  let keys: Buffer
  try {
    keys = readFileSync(file)
  } catch (err) {
    throw new SeraphError('SERAPH_ERR_TICKET_KEY_UNREADABLE', file, (err as NodeJS.ErrnoException).code ?? 'error')
  }
  if (keys.length !== ticketKeyLength) throw new SeraphError('SERAPH_ERR_TICKET_KEY_INVALID', file, keys.length, ticketKeyLength)
  return keys
}

import type { TlsSessionSettings } from '../config/config.js'
import { SessionCache } from './session-cache.js'
import { TicketKeys } from './ticket-keys.js'

/**
 * The TLS state every worker shares, held by the primary: the session-ticket
 * keys (with their rotation schedule) and the session-ID cache.
 */
export class SharedTlsState {
  readonly #tickets: TicketKeys
  readonly #sessions: SessionCache | undefined
  readonly #rotateMs: number
  readonly #sessionCacheSize: number
  #timer: NodeJS.Timeout | undefined
  #fleet = false

  constructor (settings: TlsSessionSettings) {
    this.#tickets = new TicketKeys(settings.ticketKeyFile)
    this.#rotateMs = settings.ticketRotateMs
    this.#sessionCacheSize = settings.sessionCacheSize
    this.#sessions = settings.sessionCacheSize > 0 ? new SessionCache(settings.sessionCacheSize, settings.sessionTimeoutMs) : undefined
  }

  /** Current ticket keys, base64. */
  get ticketKeys (): string {
    return this.#tickets.current
  }

  /** The fleet's keys (--store): they replace this host's own, which then never rotate here. */
  useFleetKeys (keys: string): void {
    this.#fleet = true
    this.#tickets.replace(keys)
  }

  get ticketKeyFile (): boolean {
    return this.#tickets.fromFile
  }

  get sessionCacheEnabled (): boolean {
    return this.#sessions !== undefined
  }

  get cachedSessions (): number {
    return this.#sessions?.size ?? 0
  }

  storeSession (id: string, data: string): void {
    this.#sessions?.store(id, data)
  }

  sessionIds (): string[] {
    return this.#sessions?.ids() ?? []
  }

  get sessionCacheSize (): number {
    return this.#sessionCacheSize
  }

  fetchSession (id: string): string | null {
    return this.#sessions?.fetch(id) ?? null
  }

  /** Rotates the random keys every `--ticket-rotate`, calling `onRotate` with the new ones. Not with a key file. */
  startRotation (onRotate: (keys: string) => void): void {
    if (this.#tickets.fromFile) return
    this.#timer = setTimeout(() => {
      if (this.#fleet) return
      onRotate(this.#tickets.rotate())
      this.startRotation(onRotate)
    }, this.#rotateMs)
    this.#timer.unref()
  }

  stopRotation (): void {
    clearTimeout(this.#timer)
  }

  /** On reload: re-reads the key file, if there is one (throws if it is invalid). Returns the new keys, or undefined. */
  rereadKeyFile (): string | undefined {
    return this.#tickets.fromFile ? this.#tickets.rotate() : undefined
  }
}

/** The first retry after a failed order; each further failure doubles it. */
export const retryBaseMs = 5_000
/** The longest wait between two tries (Let's Encrypt allows 5 failed validations per name and hour). */
export const retryMaxMs = 3_600_000
/** setTimeout's longest delay; a later renewal is re-planned when it fires. */
export const maxTimerMs = 2 ** 31 - 1

/** When to renew: once a third of the lifetime is left (Let's Encrypt's advice, and certbot's 30 of 90 days). */
export function renewalTime (notBefore: Date, notAfter: Date): number {
  const lifetime = notAfter.getTime() - notBefore.getTime()
  return notAfter.getTime() - lifetime / 3
}

/** Capped exponential back-off after `failures` failed tries in a row (1 or more). */
export function retryDelay (failures: number): number {
  return Math.min(retryMaxMs, retryBaseMs * 2 ** Math.max(0, Math.min(failures - 1, 20)))
}

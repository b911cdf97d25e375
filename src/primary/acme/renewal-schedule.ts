/** The first retry after a failed order; each further failure doubles it. */
export const retryBaseMs = 5_000
/** The longest wait between two tries (Let's Encrypt allows 5 failed validations per name and hour). */
export const retryMaxMs = 3_600_000
/** setTimeout's longest delay; a later renewal is re-planned when it fires. */
export const maxTimerMs = 2 ** 31 - 1

/** A certificate valid for less than this is short-lived (Let's Encrypt's 6-day `shortlived` profile). */
export const shortLivedMs = 10 * 86_400_000

/**
 * When to renew without the CA's renewalInfo: once a third of the lifetime
 * is left (Let's Encrypt's advice, certbot's 30 of 90 days), or half of it
 * for a short-lived certificate: a third of 6 days is 2 days, too little to
 * get through a CA outage or a rate limit (Let's Encrypt's advice for
 * short-lived certificates: renew at half their lifetime).
 */
export function renewalTime (notBefore: Date, notAfter: Date): number {
  const lifetime = notAfter.getTime() - notBefore.getTime()
  return notAfter.getTime() - lifetime * leftAtRenewal(lifetime)
}

/** The share of the lifetime still left when the fallback renews. */
export function leftAtRenewal (lifetimeMs: number): number {
  return lifetimeMs < shortLivedMs ? 1 / 2 : 1 / 3
}

/** Capped exponential back-off after `failures` failed tries in a row (1 or more). */
export function retryDelay (failures: number): number {
  return Math.min(retryMaxMs, retryBaseMs * 2 ** Math.max(0, Math.min(failures - 1, 20)))
}

/** `url` without its credentials (https://user:pass@ca/…, redis://:pass@host/…), for the log. */
export function withoutCredentials (url: string): string {
  const parsed = new URL(url)
  parsed.username = ''
  parsed.password = ''
  return parsed.href
}

// @ts-check
/**
 * Whether this Node can listen with SO_REUSEPORT (`reusePort` of
 * `net.Server.listen`: Node 22.12+ and 23.1+, on Linux and the BSDs).
 * @returns {string | undefined} why not, or undefined when it can
 */
export function reusePortMissing () {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  const supported = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)
  if (!supported) return `SO_REUSEPORT floor skipped: Node ${process.versions.node} has no reusePort (22.12+ or 23.1+)`
  if (process.platform !== 'linux') return `SO_REUSEPORT floor skipped: ${process.platform} does not balance connections between SO_REUSEPORT sockets`
  return undefined
}

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** A user account as passwd(5) has it. */
export interface Account {
  readonly name: string
  readonly uid: number
  readonly gid: number
}

/** A group as group(5) has it. */
export interface Group {
  readonly name: string
  readonly gid: number
}

// Names as useradd(8) allows them (plus Samba's trailing $), or a numeric id.
const plausible = /^(?:[A-Za-z0-9_][A-Za-z0-9._-]*\$?|\d+)$/

/** The user named `nameOrId` (a name or a numeric uid), or `undefined`. */
export function lookupUser (nameOrId: string): Account | undefined {
  const fields = lookup('passwd', nameOrId)
  if (fields === undefined) return undefined
  return { name: fields[0] ?? nameOrId, uid: Number(fields[2]), gid: Number(fields[3]) }
}

/** The group named `nameOrId` (a name or a numeric gid), or `undefined`. */
export function lookupGroup (nameOrId: string): Group | undefined {
  const fields = lookup('group', nameOrId)
  if (fields === undefined) return undefined
  return { name: fields[0] ?? nameOrId, gid: Number(fields[2]) }
}

// getent(1) asks NSS, so accounts from LDAP or systemd-userdb are found as
// the kernel's users are; Node has no getpwnam. Without getent (not glibc),
// the local files are read instead.
function lookup (database: 'passwd' | 'group', key: string): string[] | undefined {
  if (!plausible.test(key)) return undefined
  let text: string
  try {
    text = execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
  } catch (err) {
    // getent exits 2 for a key it does not know.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return undefined
    text = fromFile(database, key)
  }
  const fields = text.split('\n')[0]?.split(':')
  if (fields === undefined || fields.length < 3 || !/^\d+$/.test(fields[2] ?? '')) return undefined
  if (database === 'passwd' && !/^\d+$/.test(fields[3] ?? '')) return undefined
  return fields
}

function fromFile (database: 'passwd' | 'group', key: string): string {
  let text: string
  try {
    text = readFileSync(`/etc/${database}`, 'utf8')
  } catch {
    return ''
  }
  const numeric = /^\d+$/.test(key)
  return text.split('\n').find((line) => {
    const fields = line.split(':')
    return numeric ? fields[2] === key : fields[0] === key
  }) ?? ''
}

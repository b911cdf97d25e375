import { lookupGroup, lookupUser } from './accounts.js'
import type { OptionSpec } from './option-spec.js'
import { SeraphError } from '../shared/errors.js'

/** Who the workers run as; validated and resolved by {@link workerUserConfig}. */
export const userOptionSpecs = {
  user: {
    flag: '--user',
    env: 'SERAPH_USER',
    placeholder: 'NAME',
    defaultText: 'nobody when started as root, else the user seraph runs as',
    description: 'user the workers run as; started as root, the primary keeps root to bind the ports and read the keys'
  },
  group: {
    flag: '--group',
    env: 'SERAPH_GROUP',
    placeholder: 'NAME',
    defaultText: "the --user's primary group",
    description: 'group the workers run as'
  }
} as const satisfies Record<string, OptionSpec>

/** The account the workers are forked as (node:cluster's `uid`/`gid`). */
export interface WorkerUser {
  readonly user: string
  readonly uid: number
  readonly group: string
  readonly gid: number
  /** Neither --user nor its variable was given: the `nobody` default. */
  readonly byDefault: boolean
}

export interface ProcessIdentity {
  readonly uid: number
  readonly gid: number
}

type Label = (name: 'user' | 'group') => string

/**
 * `undefined`: the workers run as the primary does (it is not root). Started
 * as root, the workers run as --user, or `nobody` (h2o's rule; nginx's
 * default `user` is nobody too); only root can name someone else.
 */
export function workerUserConfig (user: string | undefined, group: string | undefined, label: Label, self: ProcessIdentity | undefined): WorkerUser | undefined {
  // No uids on this platform (Windows): nothing to switch, nothing to check.
  if (self === undefined) return undefined
  const account = user === undefined ? undefined : lookupUser(user)
  if (user !== undefined && account === undefined) throw new SeraphError('SERAPH_ERR_USER_UNKNOWN', label('user'), user)
  const chosenGroup = group === undefined ? undefined : lookupGroup(group)
  if (group !== undefined && chosenGroup === undefined) throw new SeraphError('SERAPH_ERR_GROUP_UNKNOWN', label('group'), group)
  if (self.uid !== 0) {
    if (account !== undefined && account.uid !== self.uid) throw new SeraphError('SERAPH_ERR_USER_NEEDS_ROOT', label('user'), user, self.uid)
    if (chosenGroup !== undefined && chosenGroup.gid !== self.gid) throw new SeraphError('SERAPH_ERR_USER_NEEDS_ROOT', label('group'), group, self.uid)
    return undefined
  }
  const chosen = account ?? lookupUser('nobody')
  if (chosen === undefined) throw new SeraphError('SERAPH_ERR_USER_UNKNOWN', label('user'), 'nobody')
  const gid = chosenGroup?.gid ?? chosen.gid
  return {
    user: chosen.name,
    uid: chosen.uid,
    group: chosenGroup?.name ?? lookupGroup(String(gid))?.name ?? String(gid),
    gid,
    byDefault: user === undefined
  }
}

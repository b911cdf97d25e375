import { userInfo } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { SeraphError } from './errors.js'

/** The user database's home of the current user; `undefined` for a uid it does not know. */
export function passwdHome (): string | undefined {
  try {
    return userInfo().homedir
  } catch {
    // A uid with no passwd entry (a container's --user 12345): no home at all.
    return undefined
  }
}

/**
 * The base of the user's state files as the XDG Base Directory spec defines
 * it: `$XDG_STATE_HOME` when it is an absolute path (the spec says to ignore
 * a relative one), else `$HOME/.local/state`; with HOME unset, the home from
 * the user database. `undefined` when none of them is an absolute path.
 */
export function stateHome (env: NodeJS.ProcessEnv, home: () => string | undefined = passwdHome): string | undefined {
  const xdg = env.XDG_STATE_HOME
  if (xdg !== undefined && isAbsolute(xdg)) return xdg
  // A HOME that is set but relative is a mistake to report, not to guess past.
  const base = env.HOME === undefined || env.HOME === '' ? home() : env.HOME
  return base !== undefined && isAbsolute(base) ? join(base, '.local', 'state') : undefined
}

/**
 * seraph's own state directory (`<state home>/seraph`): the development
 * certificate and, by default, the ACME state. `instead` names what the
 * operator can pass to need none, for the error when there is no state home.
 */
export function seraphStateDir (env: NodeJS.ProcessEnv, instead: string, home: () => string | undefined = passwdHome): string {
  const base = stateHome(env, home)
  if (base === undefined) {
    const found = env.HOME === undefined || env.HOME === '' ? 'unset and the user database gives no absolute home' : `"${env.HOME}"`
    throw new SeraphError('SERAPH_ERR_STATE_HOME', found, instead)
  }
  return join(base, 'seraph')
}

/** Where the generated development certificate and its CA live. */
export function devCertDir (env: NodeJS.ProcessEnv, home?: () => string | undefined): string {
  return join(seraphStateDir(env, '--cert and --key', home), 'dev-cert')
}

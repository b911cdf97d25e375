import { SeraphError } from '../shared/errors.js'

/** The listening sockets systemd passed (sd_listen_fds(3)), by what seraph serves on them. */
export interface ActivatedSockets {
  /** The HTTPS socket's file descriptor. */
  readonly https: number
  /** The plain-HTTP socket (redirects and http-01), as --redirect-port would bind it. */
  readonly http: number | undefined
}

/** sd_listen_fds(3): passed descriptors start at 3, after stdin, stdout and stderr. */
const firstFd = 3
const names = ['https', 'http'] as const

/**
 * Reads systemd's socket-activation variables. `undefined` when there are
 * none, or when they are meant for another process (LISTEN_PID is not ours:
 * a child inherits the variables, not the sockets' meaning). Sockets are told
 * apart by LISTEN_FDNAMES (`FileDescriptorName=https` / `http`), else by
 * order: the first is HTTPS, the second plain HTTP.
 */
export function socketActivation (env: NodeJS.ProcessEnv, pid: number): ActivatedSockets | undefined {
  const { LISTEN_PID: forPid, LISTEN_FDS: count, LISTEN_FDNAMES: fdNames } = env
  if (forPid === undefined && count === undefined) return undefined
  if (forPid === undefined || !/^\d+$/.test(forPid)) throw invalid('LISTEN_PID', forPid, 'not a process id')
  if (Number(forPid) !== pid) return undefined
  if (count === undefined || !/^\d+$/.test(count)) throw invalid('LISTEN_FDS', count, 'not a number of sockets')
  const n = Number(count)
  if (n === 0) return undefined
  if (n > names.length) throw invalid('LISTEN_FDS', count, 'seraph takes at most 2 sockets, https and http')
  const given = fdNames === undefined ? [] : fdNames.split(':')
  if (fdNames !== undefined && given.length !== n) throw invalid('LISTEN_FDNAMES', fdNames, `names ${given.length} sockets, LISTEN_FDS passes ${n}`)
  // systemd names an unnamed socket after its unit (seraph.socket): such
  // names say nothing, and the order decides.
  const named = given.some((name) => (names as readonly string[]).includes(name))
  if (!named) return { https: firstFd, http: n > 1 ? firstFd + 1 : undefined }
  const fdOf = (name: string): number | undefined => {
    const index = given.indexOf(name)
    if (index !== given.lastIndexOf(name)) throw invalid('LISTEN_FDNAMES', fdNames, `names two sockets ${name}`)
    return index === -1 ? undefined : firstFd + index
  }
  const stray = given.find((name) => !(names as readonly string[]).includes(name))
  if (stray !== undefined) throw invalid('LISTEN_FDNAMES', fdNames, `"${stray}" is neither https nor http`)
  const https = fdOf('https')
  if (https === undefined) throw invalid('LISTEN_FDNAMES', fdNames, 'no socket is named https')
  return { https, http: fdOf('http') }
}

function invalid (variable: string, value: string | undefined, why: string): SeraphError {
  return new SeraphError('SERAPH_ERR_SOCKET_ACTIVATION', variable, value ?? '', why)
}

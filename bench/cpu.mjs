// @ts-check
/**
 * CPU time and memory of a server's whole process tree, read from /proc.
 * Linux only: /proc/<pid>/stat fields 14-17 (utime, stime, cutime, cstime) in
 * clock ticks and /proc/<pid>/status VmRSS.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second (`getconf CLK_TCK`), 100 if getconf is missing. */
export function clockTicksPerSecond () {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim())
    return Number.isInteger(value) && value > 0 ? value : 100
  } catch {
    return 100
  }
}

/**
 * @typedef {object} Stat
 * @property {number} pid
 * @property {number} ppid
 * @property {number} ticks utime + stime + cutime + cstime
 * @property {number} ownTicks utime + stime
 */

/**
 * @param {string} pid
 * @returns {Stat | undefined}
 */
function readStat (pid) {
  let text
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined // gone meanwhile
  }
  // Field 2 (comm) is in parentheses and may hold spaces: split after the last ')'.
  // rest[0] is field 3, so field n is rest[n - 3].
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const field = (/** @type {number} */ n) => Number(rest[n - 3])
  // cutime/cstime hold the CPU of children that exited and were reaped, so a
  // worker that dies during a run does not take its CPU time with it.
  return { pid: Number(pid), ppid: field(4), ticks: field(14) + field(15) + field(16) + field(17), ownTicks: field(14) + field(15) }
}

/**
 * The process `rootPid` and all its descendants.
 * @param {number} rootPid
 * @returns {Stat[]}
 */
export function processTree (rootPid) {
  /** @type {Stat[]} */
  const all = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = readStat(entry)
    if (stat !== undefined) all.push(stat)
  }
  const inTree = new Set([rootPid])
  let grew = true
  while (grew) {
    grew = false
    for (const stat of all) {
      if (!inTree.has(stat.pid) && inTree.has(stat.ppid)) {
        inTree.add(stat.pid)
        grew = true
      }
    }
  }
  return all.filter((stat) => inTree.has(stat.pid))
}

/**
 * CPU clock ticks used so far by the tree under `rootPid` (`total`), and by
 * `rootPid` itself (`main`: seraph's or node:cluster's primary, nginx's master).
 * @param {number} rootPid
 * @param {Stat[]} [tree] a snapshot from processTree(rootPid), to read once for several counts
 */
export function treeCpuTicks (rootPid, tree = processTree(rootPid)) {
  return {
    total: tree.reduce((sum, stat) => sum + stat.ticks, 0),
    main: tree.find((stat) => stat.pid === rootPid)?.ownTicks ?? 0
  }
}

/**
 * CPU clock ticks used so far by each direct child of `rootPid` (the workers),
 * by pid; a child's own children are included (cutime/cstime and their
 * ticks), so each entry is that worker's whole subtree.
 * @param {number} rootPid
 * @param {Stat[]} [tree] a snapshot from processTree(rootPid)
 * @returns {Map<number, number>}
 */
export function childCpuTicks (rootPid, tree = processTree(rootPid)) {
  /** @type {Map<number, number>} */
  const parentOf = new Map(tree.map((stat) => [stat.pid, stat.ppid]))
  /** @type {Map<number, number>} */
  const ticks = new Map()
  for (const stat of tree) {
    if (stat.pid === rootPid) continue
    // Walk up to the direct child of rootPid this process belongs to.
    let child = stat.pid
    let parent = parentOf.get(child)
    while (parent !== undefined && parent !== rootPid) {
      child = parent
      parent = parentOf.get(child)
    }
    if (parent === rootPid) ticks.set(child, (ticks.get(child) ?? 0) + stat.ticks)
  }
  return ticks
}

/**
 * Each child's share of the children's CPU ticks between two childCpuTicks
 * snapshots, sorted descending (a child that started in between counts from
 * 0; one that exited is left out). Empty when the children used no CPU.
 * @param {Map<number, number>} before
 * @param {Map<number, number>} after
 * @returns {number[]}
 */
export function childCpuShares (before, after) {
  const deltas = [...after].map(([pid, ticks]) => Math.max(0, ticks - (before.get(pid) ?? 0)))
  const total = deltas.reduce((sum, d) => sum + d, 0)
  if (total <= 0) return []
  return deltas.map((d) => d / total).sort((a, b) => b - a)
}

/**
 * Resident memory of the tree: the process we started and each of its children
 * (its workers), in MiB.
 * @param {number} rootPid
 * @returns {{ main: number, workers: number[] }}
 */
export function treeRss (rootPid) {
  const tree = processTree(rootPid)
  const workers = tree.filter((stat) => stat.ppid === rootPid).map((stat) => rssMiB(stat.pid))
  return { main: rssMiB(rootPid), workers: workers.filter((rss) => rss > 0) }
}

/** @param {number} pid */
function rssMiB (pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? 0 : Number(match[1]) / 1024
  } catch {
    return 0
  }
}

/**
 * CPU clock ticks the whole machine has spent busy (all but idle and iowait),
 * from the first line of /proc/stat.
 */
export function machineBusyTicks () {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  return (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)
}

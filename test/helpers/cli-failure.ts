import type { Test } from 'tap'
import type { SeraphErrorCode } from '../../src/shared/errors.js'
import { runSeraph, waitUntilGone, type SpawnOptions } from './seraph-process.js'

/**
 * Runs the built CLI with bad input and checks seraph's promise for it: exit
 * code 1, one line on stderr naming the problem (`mention`) and its code, no
 * stack trace, and no worker left running.
 */
export async function expectCliFailure (t: Test, args: string[], code: SeraphErrorCode, mention: RegExp | string, options?: SpawnOptions): Promise<void> {
  const result = await runSeraph(t, ['--host', '127.0.0.1', '--port', '0', '--workers', '1', ...args], options)
  t.equal(result.code, 1, 'exit code 1')
  t.equal(result.signal, null, 'not killed')
  const lines = result.stderr.split('\n').filter(Boolean)
  t.equal(lines.length, 1, `one line on stderr: ${result.stderr}`)
  t.match(lines[0], new RegExp(`^seraph: .+ \\[${code}\\]$`), 'names the problem and its code')
  t.match(lines[0], mention, `names ${String(mention)}`)
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
  t.same(await waitUntilGone(result.seraph.workerPids()), [], 'no worker left running')
}

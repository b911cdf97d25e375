#!/usr/bin/env node
// npm run test:mutation [-- GROUP…]: StrykerJS over the modules that carry
// seraph's promises, each group of mutants checked by the in-process test
// files that cover it (no build per mutant, so a group takes minutes, not
// hours). Not part of npm test or CI: run it before a change to these
// modules lands, and put the scores in docs/Guides/contributing.md.
import { Stryker } from '@stryker-mutator/core'

const groups = {
  'rolling-reload': { mutate: ['src/primary/rolling-reload.ts'], tests: ['test/rolling-reload-sequence.test.ts'] },
  'request-guard': { mutate: ['src/worker/request-guard.ts'], tests: ['test/request-guard.test.ts'] },
  'drain-and-host': { mutate: ['src/worker/drain-rule.ts', 'src/worker/host-header.ts'], tests: ['test/drain-rule.test.ts', 'test/host-header.test.ts'] },
  'root-confinement': { mutate: ['src/worker/root-confinement.ts'], tests: ['test/root-confinement-rules.test.ts'] },
  'connection-accounting': { mutate: ['src/worker/connection-accounting.ts', 'src/worker/close-cause.ts'], tests: ['test/connection-accounting.test.ts'] },
  // A mutant that stops a response hangs its test until Stryker's timeout
  // (the dry run's time × 1.5 plus timeoutMS): 15 s more instead of 30 s
  // halves what each such mutant costs this three-file group.
  precompressed: { mutate: ['src/worker/precompressed.ts'], tests: ['test/precompressed.test.ts'] },
  'fast-path': { mutate: ['src/worker/fast-path.ts', 'src/worker/cached-response.ts', 'src/worker/http2-fast-path.ts'], tests: ['test/caching.test.ts', 'test/static-files.test.ts', 'test/http2-fast-path.test.ts'], timeoutMS: 15_000 },
  // Accept-Encoding and the zstd variants (issue 30): in-process only, both Nodes' truths in one file.
  'content-coding': { mutate: ['src/worker/content-coding.ts', 'src/worker/zstd.ts'], tests: ['test/zstd.test.ts'] }
}

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !Object.hasOwn(groups, name))
if (unknown.length > 0) {
  process.stderr.write(`seraph mutation: unknown group ${unknown.join(', ')} (one of ${Object.keys(groups).join(', ')})\n`)
  process.exit(1)
}
const scores = []
for (const [name, group] of Object.entries(groups)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  const stryker = new Stryker({
    mutate: group.mutate,
    testRunner: 'command',
    commandRunner: { command: `npx tap --timeout 60 ${group.tests.join(' ')}` },
    reporters: ['clear-text', 'progress'],
    concurrency: 2,
    timeoutMS: group.timeoutMS ?? 30_000,
    tempDirName: '.stryker-tmp',
    cleanTempDir: true,
    ignorePatterns: ['dist', 'bench', '.stryker-tmp'],
    thresholds: { high: 90, low: 80, break: null }
  })
  const results = await stryker.runMutationTest()
  const killed = results.filter((r) => r.status === 'Killed' || r.status === 'Timeout').length
  const survived = results.filter((r) => r.status === 'Survived' || r.status === 'NoCoverage')
  scores.push({ group: name, mutants: results.length, killed, survived: survived.length, score: `${(100 * killed / Math.max(1, killed + survived.length)).toFixed(1)} %` })
}
console.table(scores)

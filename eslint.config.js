import neostandard from 'neostandard'

// The tree shows which process runs a file; these rules keep it true.
// Primary and worker code never import each other, the ground layer
// (src/shared) imports nothing above it, and a worker never loads the CLI's
// option parser (src/config).
const forbid = (files, folders, why) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{ regex: `(^|/)(${folders.join('|')})/|(^|/)cli\\.js$`, message: why }]
    }]
  }
})

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', 'public/**', 'bench/results/**', '.tap/**', '.stryker-tmp/**', 'reports/**']
  }),
  forbid(['src/shared/**'], ['primary', 'worker', 'config'], 'src/shared is the ground layer: it imports nothing above it'),
  forbid(['src/config/**'], ['primary', 'worker'], 'src/config parses and validates options; it runs in the primary and knows no process code'),
  forbid(['src/primary/**'], ['worker'], 'the primary never serves a request: it does not import worker code'),
  forbid(['src/worker/**', 'workers/**'], ['primary', 'config'], 'a worker gets its settings over IPC: it does not import primary code or the option parser')
]

import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// The bench scripts' command lines (bench/options.mjs, script-lifecycle.mjs):
// a bad one is one line and exit 1 before any server starts, --help is the
// usage and exit 0. The benchmarks themselves are measurements, not tests.
const bench = fileURLToPath(new URL('../bench/', import.meta.url))

interface Run { code: number | null, stdout: string, stderr: string }

function runScript (script: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [`${bench}${script}`, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

const scripts = [
  { script: 'run.mjs', name: 'bench', bad: [['--paired-rounds', '-2'], ['--paired-rounds', '1.5'], ['--scenarios', 'no-such-scenario']] },
  { script: 'ab.mjs', name: 'bench:ab', bad: [['--contenders', 'seraph,bare-https', '--rounds', '0'], ['--contenders', 'seraph,bare-https', '--slice', 'x'], ['--contenders', 'seraph']] },
  { script: 'warm-up.mjs', name: 'bench:warm-up', bad: [['--contenders', 'seraph', '--seconds', '1'], ['--contenders', 'seraph', '--reps', '']] },
  { script: 'instructions.mjs', name: 'bench:instructions', bad: [['--requests', '99'], ['--top', '-1'], ['--contenders', 'nginx']] }
]

for (const { script, name, bad } of scripts) {
  t.test(`${name}: a bad command line is one line and exit 1; --help the usage`, async (t) => {
    for (const args of [['--no-such-option'], ...bad]) {
      const run = await runScript(script, args)
      const lines = run.stderr.split('\n').filter(Boolean)
      t.equal(run.code, 1, `${args.join(' ')}: exit 1`)
      t.equal(lines.length, 1, `${args.join(' ')}: one line (${run.stderr.trim()})`)
      t.match(lines[0], new RegExp(`^${name}: \\S`), `${args.join(' ')}: the line names the script`)
      t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
      t.equal(run.stdout, '', 'nothing on stdout')
    }
    const help = await runScript(script, ['--help'])
    t.equal(help.code, 0, '--help: exit 0')
    t.match(help.stdout, new RegExp(`^usage: npm run ${name} `), '--help: the usage')
    t.equal(help.stderr, '', '--help: nothing on stderr')
  })
}

import t from 'tap'
import { workerExecArgv, workerSemiSpaceMiB } from '../workers/exec-argv.js'

t.test('a worker gets a small young generation unless one was asked for', async (t) => {
  const flag = `--max-semi-space-size=${workerSemiSpaceMiB}`
  t.same(workerExecArgv([], ''), [flag])
  t.same(workerExecArgv(['--enable-source-maps'], ''), ['--enable-source-maps', flag], 'the primary\'s own flags stay, first')
  t.same(workerExecArgv(['--max-semi-space-size=16'], ''), ['--max-semi-space-size=16'], 'on the command line')
  t.same(workerExecArgv(['--max_semi_space_size', '8'], ''), ['--max_semi_space_size', '8'], 'in V8\'s spelling')
  t.same(workerExecArgv([], '--inspect=0 --max-semi-space-size=8'), [], 'in NODE_OPTIONS')
  t.same(workerExecArgv([], '--max-old-space-size=512'), [flag], 'another V8 flag does not count')
})

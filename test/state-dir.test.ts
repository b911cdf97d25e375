import t from 'tap'
import { isSeraphError } from '../src/shared/errors.js'
import { devCertDir, seraphStateDir, stateHome } from '../src/shared/state-dir.js'
import { expectCliFailure } from './helpers/cli-failure.js'

const noPasswdHome = (): undefined => undefined
const passwd = (): string => '/home/from-passwd'

t.test('XDG_STATE_HOME wins when it is an absolute path', async (t) => {
  t.equal(stateHome({ XDG_STATE_HOME: '/var/lib', HOME: '/home/alice' }, passwd), '/var/lib')
  t.equal(devCertDir({ XDG_STATE_HOME: '/var/lib', HOME: '/home/alice' }, passwd), '/var/lib/seraph/dev-cert')
})

t.test('a relative or empty XDG_STATE_HOME is ignored (the XDG spec): HOME is used', async (t) => {
  t.equal(stateHome({ XDG_STATE_HOME: 'state', HOME: '/home/alice' }, passwd), '/home/alice/.local/state')
  t.equal(stateHome({ XDG_STATE_HOME: '', HOME: '/home/alice' }, passwd), '/home/alice/.local/state')
  t.equal(seraphStateDir({ HOME: '/home/alice' }, '--state-dir', passwd), '/home/alice/.local/state/seraph')
})

t.test('HOME unset: the user database\'s home', async (t) => {
  t.equal(stateHome({}, passwd), '/home/from-passwd/.local/state')
  t.equal(stateHome({ HOME: '' }, passwd), '/home/from-passwd/.local/state')
})

t.test('no usable home: one SeraphError that says what to set, or what to pass instead', async (t) => {
  const cases: Array<[string, NodeJS.ProcessEnv, () => string | undefined, RegExp]> = [
    ['HOME relative', { HOME: 'alice' }, passwd, /HOME is "alice"/],
    ['HOME unset, uid unknown to the user database', {}, noPasswdHome, /HOME is unset and the user database gives no absolute home/],
    ['HOME unset, a relative home in the user database', { XDG_STATE_HOME: 'x' }, () => 'relative', /HOME is unset/]
  ]
  for (const [name, env, home, found] of cases) {
    t.equal(stateHome(env, home), undefined, `${name}: no state home`)
    const error = ((): unknown => {
      try {
        devCertDir(env, home)
      } catch (err) {
        return err
      }
      return undefined
    })()
    t.ok(isSeraphError(error) && error.code === 'SERAPH_ERR_STATE_HOME', `${name}: SERAPH_ERR_STATE_HOME`)
    const line = isSeraphError(error) ? error.toLine() : ''
    t.match(line, found, `${name}: says what it found`)
    t.match(line, /set either to an absolute path, or pass --cert and --key/, `${name}: says what to do`)
    t.notMatch(line, /\n/, `${name}: one line`)
  }
})

// The built CLI, end to end: the development certificate needs a state home.
t.test('seraph without a state home and without --cert: one line, exit 1', (t) =>
  expectCliFailure(t, [], 'SERAPH_ERR_STATE_HOME', '--cert and --key', { env: { HOME: 'not/absolute', XDG_STATE_HOME: 'neither' } }))

t.test('--domain without a state home and without --state-dir: one line, exit 1', (t) =>
  expectCliFailure(t, ['--domain', 'example.org'], 'SERAPH_ERR_STATE_HOME', '--state-dir', { env: { HOME: 'not/absolute', XDG_STATE_HOME: undefined } }))

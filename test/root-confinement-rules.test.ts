import { mkdirSync, realpathSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { RootConfinement } from '../src/worker/root-confinement.js'
import { tempDir } from './helpers/certificates.js'

// The rule in-process, fast enough for every mutant (npm run test:mutation);
// root-confinement.test.ts checks it on every request path of the built CLI.

function layout (t: { teardown (fn: () => unknown): void }) {
  const dir = tempDir(t)
  const root = join(dir, 'site')
  const secrets = join(dir, 'secrets')
  mkdirSync(join(root, 'posts'), { recursive: true })
  mkdirSync(secrets)
  writeFileSync(join(root, 'posts', 'a.html'), 'a')
  writeFileSync(join(dir, 'outside.txt'), 'x')
  writeFileSync(join(secrets, 'key.pem'), 'k')
  writeFileSync(join(dir, 'site-other.txt'), 'o')
  symlinkSync(join(dir, 'outside.txt'), join(root, 'out.txt'))
  symlinkSync(join(root, 'posts', 'a.html'), join(root, 'in.html'))
  symlinkSync(join(secrets, 'key.pem'), join(root, 'key.pem'))
  symlinkSync(join(dir, 'site-other.txt'), join(root, 'prefix.txt'))
  symlinkSync(join(dir, 'nowhere'), join(root, 'dangling.txt'))
  symlinkSync(root, join(dir, 'root-link'))
  return { dir, root, secrets }
}

t.test('inside the root: served, with the real path', async (t) => {
  const { root, secrets } = layout(t)
  const rule = new RootConfinement({ root, followSymlinks: false, privatePaths: [join(secrets, 'key.pem')] })
  t.same(await rule.check(join(root, 'posts', 'a.html')), { allowed: true, realPath: join(root, 'posts', 'a.html'), root })
  t.same(await rule.check(join(root, 'in.html')), { allowed: true, realPath: join(root, 'posts', 'a.html'), root }, 'a link that stays inside')
  t.same(await rule.check(root), { allowed: true, realPath: root, root }, 'the root itself')
})

t.test('outside the root, private, or missing: refused with the reason', async (t) => {
  const { root, secrets } = layout(t)
  const rule = new RootConfinement({ root, followSymlinks: false, privatePaths: [join(secrets, 'key.pem')] })
  t.same(await rule.check(join(root, 'out.txt')), { allowed: false, reason: 'outside-root' })
  t.same(await rule.check(join(root, 'prefix.txt')), { allowed: false, reason: 'outside-root' }, 'a sibling whose name starts like the root')
  t.same(await rule.check(join(root, 'dangling.txt')), { allowed: false, reason: 'outside-root' }, 'a dangling link')
  t.same(await rule.check(join(root, 'key.pem')), { allowed: false, reason: 'private' }, 'the key, through a link')
  t.same(rule.checkSync(join(root, 'out.txt')), { allowed: false, reason: 'outside-root' }, 'the same rule, synchronously')
  t.same(rule.checkSync(join(root, 'posts', 'a.html')), { allowed: true, realPath: join(root, 'posts', 'a.html'), root })
})

t.test('a root given through a link is confined to its real path', async (t) => {
  const { dir, root } = layout(t)
  const rule = new RootConfinement({ root: join(dir, 'root-link'), followSymlinks: false, privatePaths: [] })
  t.equal(rule.realRoot, root)
  t.same(await rule.check(join(dir, 'root-link', 'posts', 'a.html')), { allowed: true, realPath: join(root, 'posts', 'a.html'), root })
})

t.test('--follow-symlinks: anywhere but the private paths, a folder covering all below it', async (t) => {
  const { dir, root, secrets } = layout(t)
  const rule = new RootConfinement({ root: dir, followSymlinks: true, privatePaths: [secrets] })
  t.same(await rule.check(join(root, 'out.txt')), { allowed: true, realPath: join(dir, 'outside.txt'), root: dir })
  t.same(await rule.check(join(root, 'key.pem')), { allowed: false, reason: 'private' }, 'through a link')
  t.same(await rule.check(join(secrets, 'key.pem')), { allowed: false, reason: 'private' }, 'with the root above it')
  t.same(await rule.check(secrets), { allowed: false, reason: 'private' }, 'the folder itself')
})

t.test('a private path that does not exist yet (a state dir made later) is still private once it does', async (t) => {
  const { dir, root } = layout(t)
  const later = join(dir, 'state-later')
  const rule = new RootConfinement({ root: dir, followSymlinks: true, privatePaths: [later] })
  mkdirSync(later)
  writeFileSync(join(later, 'account.key'), 'k')
  t.same(await rule.check(join(later, 'account.key')), { allowed: false, reason: 'private' })
  t.same(await rule.check(join(root, 'posts', 'a.html')), { allowed: true, realPath: join(root, 'posts', 'a.html'), root: dir })
})

t.test('a private path given through a link is caught by its real path too', async (t) => {
  const { dir, root, secrets } = layout(t)
  symlinkSync(secrets, join(dir, 'secrets-link'))
  const rule = new RootConfinement({ root, followSymlinks: true, privatePaths: [join(dir, 'secrets-link', 'key.pem')] })
  t.same(await rule.check(join(root, 'key.pem')), { allowed: false, reason: 'private' })
})

/** releases/1 and releases/2 (with a link back into 1 and one to the key), `current -> releases/1`, and `swap(n)` as a deploy does it: a new link renamed over. */
function releases (t: { teardown (fn: () => unknown): void }) {
  const dir = realpathSync(tempDir(t))
  const one = join(dir, 'releases', '1')
  const two = join(dir, 'releases', '2')
  const secrets = join(dir, 'secrets')
  mkdirSync(one, { recursive: true })
  mkdirSync(two)
  mkdirSync(secrets)
  writeFileSync(join(one, 'a.html'), 'a of 1')
  writeFileSync(join(one, 'only-in-1.txt'), '1')
  writeFileSync(join(two, 'a.html'), 'a of 2')
  writeFileSync(join(secrets, 'key.pem'), 'k')
  symlinkSync('../1/only-in-1.txt', join(two, 'back.txt'))
  symlinkSync(join(secrets, 'key.pem'), join(two, 'key.pem'))
  const current = join(dir, 'current')
  symlinkSync('releases/1', current)
  const swap = (release: string): void => {
    symlinkSync(`releases/${release}`, join(dir, 'current.tmp'))
    renameSync(join(dir, 'current.tmp'), current)
  }
  return { dir, one, two, secrets, current, swap }
}

t.test('a repointed root: refresh() moves it once, tells the listeners, and the new tree is the root', async (t) => {
  const { one, two, current, swap } = releases(t)
  const rule = new RootConfinement({ root: current, followSymlinks: false, privatePaths: [] })
  const moves: string[][] = []
  rule.onMove((from, to) => moves.push([from, to]))
  t.equal(rule.root, current, 'the root as given')
  t.equal(rule.realRoot, one)
  t.equal(await rule.refresh(), false, 'not moved: false')
  t.same(moves, [], 'and no listener told')
  swap('2')
  t.equal(rule.realRoot, one, 'nothing changes by itself')
  t.equal(rule.checkSync(join(current, 'a.html')).allowed, false, 'checkSync judges against the root as last resolved')
  t.equal(await rule.refresh(), true, 'moved: true')
  t.same(moves, [[one, two]], 'the listener had the old and the new real path')
  t.equal(rule.realRoot, two)
  t.equal(await rule.refresh(), false, 'once only')
  t.same(await rule.check(join(current, 'a.html')), { allowed: true, realPath: join(two, 'a.html'), root: two })
  t.same(await rule.check(join(current, 'back.txt')), { allowed: false, reason: 'outside-root' }, 'a link from the new release into the old one is outside')
  t.same(await rule.check(join(one, 'a.html')), { allowed: false, reason: 'outside-root' }, 'so is the old release')
  swap('1')
  t.same(await Promise.all([rule.refresh(), rule.refresh()]), [true, true], 'two refreshes at once share one resolution')
  t.same(moves, [[one, two], [two, one]], 'and tell the listener once')
})

t.test('a file of the new tree checked before any refresh: check() looks again and switches, instead of refusing', async (t) => {
  const { one, two, current, swap } = releases(t)
  const rule = new RootConfinement({ root: current, followSymlinks: false, privatePaths: [] })
  const moves: string[][] = []
  rule.onMove((from, to) => moves.push([from, to]))
  swap('2')
  t.same(await rule.check(join(current, 'a.html')), { allowed: true, realPath: join(two, 'a.html'), root: two })
  t.same(moves, [[one, two]], 'the root moved')
  t.same(await rule.check(join(one, 'only-in-1.txt')), { allowed: false, reason: 'outside-root' }, 'a file outside still is, after looking again')
  t.same(moves, [[one, two]], 'without a move')
})

t.test('a root that cannot be resolved (its link replaced non-atomically) keeps the last real root', async (t) => {
  const { one, current } = releases(t)
  const rule = new RootConfinement({ root: current, followSymlinks: false, privatePaths: [] })
  unlinkSync(current)
  t.equal(await rule.refresh(), false)
  t.equal(rule.realRoot, one)
  t.same(await rule.check(join(one, 'a.html')), { allowed: true, realPath: join(one, 'a.html'), root: one })
})

t.test('private paths stay private in the new tree, even with --follow-symlinks', async (t) => {
  const { two, secrets, current, swap } = releases(t)
  const rule = new RootConfinement({ root: current, followSymlinks: true, privatePaths: [secrets] })
  swap('2')
  t.equal(await rule.refresh(), true)
  t.same(await rule.check(join(current, 'key.pem')), { allowed: false, reason: 'private' })
  t.same(await rule.check(join(current, 'a.html')), { allowed: true, realPath: join(two, 'a.html'), root: two })
})

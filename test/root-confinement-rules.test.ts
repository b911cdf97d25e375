import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
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
  t.same(await rule.check(join(root, 'posts', 'a.html')), { allowed: true, realPath: join(root, 'posts', 'a.html') })
  t.same(await rule.check(join(root, 'in.html')), { allowed: true, realPath: join(root, 'posts', 'a.html') }, 'a link that stays inside')
  t.same(await rule.check(root), { allowed: true, realPath: root }, 'the root itself')
})

t.test('outside the root, private, or missing: refused with the reason', async (t) => {
  const { root, secrets } = layout(t)
  const rule = new RootConfinement({ root, followSymlinks: false, privatePaths: [join(secrets, 'key.pem')] })
  t.same(await rule.check(join(root, 'out.txt')), { allowed: false, reason: 'outside-root' })
  t.same(await rule.check(join(root, 'prefix.txt')), { allowed: false, reason: 'outside-root' }, 'a sibling whose name starts like the root')
  t.same(await rule.check(join(root, 'dangling.txt')), { allowed: false, reason: 'outside-root' }, 'a dangling link')
  t.same(await rule.check(join(root, 'key.pem')), { allowed: false, reason: 'private' }, 'the key, through a link')
  t.same(rule.checkSync(join(root, 'out.txt')), { allowed: false, reason: 'outside-root' }, 'the same rule, synchronously')
  t.same(rule.checkSync(join(root, 'posts', 'a.html')), { allowed: true, realPath: join(root, 'posts', 'a.html') })
})

t.test('a root given through a link is confined to its real path', async (t) => {
  const { dir, root } = layout(t)
  const rule = new RootConfinement({ root: join(dir, 'root-link'), followSymlinks: false, privatePaths: [] })
  t.equal(rule.realRoot, root)
  t.same(await rule.check(join(dir, 'root-link', 'posts', 'a.html')), { allowed: true, realPath: join(root, 'posts', 'a.html') })
})

t.test('--follow-symlinks: anywhere but the private paths, a folder covering all below it', async (t) => {
  const { dir, root, secrets } = layout(t)
  const rule = new RootConfinement({ root: dir, followSymlinks: true, privatePaths: [secrets] })
  t.same(await rule.check(join(root, 'out.txt')), { allowed: true, realPath: join(dir, 'outside.txt') })
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
  t.same(await rule.check(join(root, 'posts', 'a.html')), { allowed: true, realPath: join(root, 'posts', 'a.html') })
})

t.test('a private path given through a link is caught by its real path too', async (t) => {
  const { dir, root, secrets } = layout(t)
  symlinkSync(secrets, join(dir, 'secrets-link'))
  const rule = new RootConfinement({ root, followSymlinks: true, privatePaths: [join(dir, 'secrets-link', 'key.pem')] })
  t.same(await rule.check(join(root, 'key.pem')), { allowed: false, reason: 'private' })
})

// @ts-check
/**
 * Loaded with `--import` into every test process (.taprc `node-arg`). With
 * tap's `type-strip-only` (Node 22.15+/23.5+), Node runs the .ts files itself
 * instead of ts-node, ~1-1.7 s less per test file, but it does not map the
 * `./x.js` specifiers that TypeScript's NodeNext resolution wants onto
 * `./x.ts`: this hook does, for files of this repository that exist only as
 * .ts. Under ts-node (Node 20, where tap turns type stripping off) ts-node
 * maps them and this hook changes nothing.
 */
import { existsSync } from 'node:fs'
import * as nodeModule from 'node:module'
import { fileURLToPath } from 'node:url'

/**
 * @param {string} specifier
 * @param {string | undefined} parentURL
 * @returns {string | undefined} the .ts file's URL when `specifier` names a missing .js file beside it
 */
function typeScriptTwin (specifier, parentURL) {
  if (parentURL === undefined || !parentURL.startsWith('file:') || parentURL.includes('/node_modules/')) return undefined
  if (!specifier.endsWith('.js') || !(specifier.startsWith('./') || specifier.startsWith('../'))) return undefined
  const url = new URL(specifier, parentURL)
  const twin = `${url.href.slice(0, -'.js'.length)}.ts`
  return !existsSync(fileURLToPath(url)) && existsSync(fileURLToPath(twin)) ? twin : undefined
}

// registerHooks: Node 22.15+/23.5+, synchronous and in this thread. Where it
// is missing, tap's type stripping is missing too (Node 20) or needs it.
const { registerHooks } = /** @type {{ registerHooks?: (hooks: { resolve: (specifier: string, context: { parentURL?: string }, next: (specifier: string, context: object) => unknown) => unknown }) => void }} */ (nodeModule)
if (registerHooks !== undefined) {
  registerHooks({
    resolve: (specifier, context, next) => next(typeScriptTwin(specifier, context.parentURL) ?? specifier, context)
  })
} else if (process.env.TAP_TYPE_STRIP_ONLY === '1') {
  process.stderr.write(`tests: Node ${process.version} strips types but has no module.registerHooks; use Node 22.15 or later, or TAP_TYPE_STRIP_ONLY=0\n`)
  process.exit(1)
}

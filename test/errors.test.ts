import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { errorMessages, SeraphError } from '../src/shared/errors.js'
import { packageRoot } from '../src/shared/package-info.js'
import { tableRows } from './helpers/markdown.js'

t.test('docs/Reference/errors.md has a row for every error code, and none for a code seraph does not have', async (t) => {
  const page = readFileSync(join(packageRoot, 'docs/Reference/errors.md'), 'utf8')
  const documented = tableRows(page).map((cells) => /^`(SERAPH_ERR_[A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1]).filter((code) => code !== undefined)
  const codes = Object.keys(errorMessages)
  for (const code of codes) t.ok(documented.includes(code), code)
  t.same(documented.filter((code) => !codes.includes(code)), [], 'no row for an unknown code')
  t.equal(new Set(documented).size, documented.length, 'each code once')
})

t.test('an error renders as one line with its code', async (t) => {
  const error = new SeraphError('SERAPH_ERR_PORT_IN_USE', '--port', 8443, '*:8443')
  t.equal(error.toLine(), 'seraph: --port 8443: address *:8443 is already in use [SERAPH_ERR_PORT_IN_USE]')
  t.notMatch(error.toLine(), /\n/)
})

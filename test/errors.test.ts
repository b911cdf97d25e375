import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { errorMessages, SeraphError } from '../src/shared/errors.js'
import { packageRoot } from '../src/shared/package-info.js'

t.test('every error code is documented in the README', async (t) => {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8')
  for (const code of Object.keys(errorMessages)) t.match(readme, `\`${code}\``, code)
})

t.test('an error renders as one line with its code', async (t) => {
  const error = new SeraphError('SERAPH_ERR_PORT_IN_USE', '--port', 8443, '*:8443')
  t.equal(error.toLine(), 'seraph: --port 8443: address *:8443 is already in use [SERAPH_ERR_PORT_IN_USE]')
  t.notMatch(error.toLine(), /\n/)
})

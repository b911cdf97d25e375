import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { helpText } from '../src/config/help-text.js'
import { optionSpecs, type OptionSpec } from '../src/config/options.js'
import { packageRoot } from '../src/shared/package-info.js'

t.test("the README's Options table has every flag --help has, with its variable, and no other", async (t) => {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8')
  const table = /## Options\n[\s\S]*?\n\| flag \| variable \|[^\n]*\n\|[-|]+\|\n((?:\|[^\n]*\n)+)/.exec(readme)?.[1] ?? ''
  const rows = table.split('\n').filter((row) => row !== '')
  const documented = new Set(rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`(--[a-z0-9-]+)/g)].map((m) => m[1] as string)))
  const help = helpText('test')
  for (const spec of Object.values(optionSpecs) as OptionSpec[]) {
    t.match(help, `  ${spec.flag}`, `--help has ${spec.flag}`)
    const row = rows.find((r) => new RegExp(`\`${spec.flag}[ \`]`).test(r.split('|')[1] ?? ''))
    t.ok(row, `the README's table has ${spec.flag}`)
    if (spec.env !== undefined) t.match(row ?? '', `\`${spec.env}`, `${spec.flag}: its variable ${spec.env}`)
    documented.delete(spec.flag)
  }
  t.same([...documented], [], 'no flag in the table that seraph does not have')
})

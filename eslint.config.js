import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  ignores: ['dist/**', 'node_modules/**', 'public/**', 'bench/results/**', '.tap/**', 'dev-cert/**', '.stryker-tmp/**', 'reports/**']
})

// @ts-check
/**
 * The command lines of the bench scripts: `--help`, the `--contenders` and
 * `--scenarios` lists, whole-number options. A bad one ends the script
 * through `fail` (one line, exit 1: script-lifecycle.mjs).
 */
import { parseArgs } from 'node:util'

/**
 * The script's options plus `--help` (prints `usage`, exits 0); strict, so
 * that an unknown option is an error, not ignored.
 * @template {NonNullable<import('node:util').ParseArgsConfig['options']>} O
 * @param {O} options
 * @param {string} usage
 * @returns {ReturnType<typeof parseArgs<{ options: O, strict: true }>>['values']}
 */
export function parseScriptArgs (options, usage) {
  const { values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true })
  if ((/** @type {{ help?: unknown }} */ (values)).help === true) {
    process.stdout.write(usage)
    process.exit(0)
  }
  return /** @type {ReturnType<typeof parseArgs<{ options: O, strict: true }>>['values']} */ (values)
}

/**
 * `--contenders a,b` and `--scenarios a,b` of the bench scripts: the ids
 * given, each checked against the known ones.
 * @param {string | undefined} text the option's value; undefined when not given
 * @param {string[]} known
 * @param {string} what `contender` or `scenario`, for the error
 * @param {(message: string) => never} fail
 * @returns {string[] | undefined} undefined when the option was not given
 */
export function parseIdList (text, known, what, fail) {
  if (text === undefined) return undefined
  const ids = text.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const id of ids) if (!known.includes(id)) fail(`unknown ${what} ${id}; known: ${known.join(', ')}`)
  return ids
}

/**
 * A whole-number option of at least `min`.
 * @param {string} text the option's value (its default when not given)
 * @param {string} name the option, without its dashes
 * @param {number} min
 * @param {(message: string) => never} fail
 * @returns {number}
 */
export function wholeNumber (text, name, min, fail) {
  const value = Number(text)
  if (text.trim() === '' || !Number.isInteger(value) || value < min) fail(`--${name} needs a whole number of ${min} or more, not ${text}`)
  return value
}

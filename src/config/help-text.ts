import type { OptionSpec } from './option-spec.js'
import { optionSpecs } from './options.js'

/** The `--help` text, generated from {@link optionSpecs}. */
export function helpText (version: string): string {
  const rows = Object.values(optionSpecs).map((spec: OptionSpec) => {
    const left = spec.placeholder === undefined ? spec.flag : `${spec.flag} ${spec.placeholder}`
    const extra = [spec.env, defaultHelp(spec)]
      .filter(Boolean).join('; ')
    const choices = spec.choices === undefined ? '' : ` (${spec.choices.join(', ')})`
    return `  ${left.padEnd(26)}${spec.description}${choices}${extra === '' ? '' : ` [${extra}]`}`
  })
  return [
    `seraph ${version} — a multi-worker HTTPS server for your blog`,
    '',
    'Usage: seraph [options]',
    '',
    'Options (a flag wins over its environment variable):',
    ...rows,
    '',
    'Signals: SIGTERM/SIGINT drain and stop (a second one forces).',
    ''
  ].join('\n')
}

const durationUnits: ReadonlyArray<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]]

/** `default: …` for --help, with the spec's note after it. */
function defaultHelp (spec: OptionSpec): string | undefined {
  const text = defaultText(spec)
  if (text === undefined) return undefined
  return `default: ${text}${spec.defaultNote === undefined ? '' : `; ${spec.defaultNote}`}`
}

/**
 * The default as --help says it (without its note): the spec's `defaultText`, or
 * its `default` itself (a duration in its largest whole unit), so the two cannot
 * disagree. docs/Reference/options.md states the same text (test/docs.test.ts).
 */
export function defaultText (spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText
  if (spec.default === undefined) return undefined
  const ms = spec.default
  const unit = spec.placeholder === 'TIME' ? durationUnits.find(([, size]) => ms % size === 0 && ms >= size) : undefined
  return unit === undefined ? String(ms) : `${ms / unit[1]}${unit[0]}`
}

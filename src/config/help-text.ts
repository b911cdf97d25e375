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

/** `default: …` for --help, from the spec's default itself, so the two cannot disagree. */
function defaultHelp (spec: OptionSpec): string | undefined {
  let text = spec.defaultText
  if (text === undefined && spec.default !== undefined) {
    const ms = spec.default
    const unit = spec.placeholder === 'TIME' ? durationUnits.find(([, size]) => ms % size === 0 && ms >= size) : undefined
    text = unit === undefined ? String(ms) : `${ms / unit[1]}${unit[0]}`
  }
  if (text === undefined) return undefined
  return `default: ${text}${spec.defaultNote === undefined ? '' : `; ${spec.defaultNote}`}`
}

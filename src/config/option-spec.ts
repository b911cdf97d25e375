/**
 * One command-line option with its environment variable: the shape of every
 * entry of the table in options.ts and of the `*-options.ts` tables it
 * collects. A file of its own, so that those files need not import the table
 * that imports them.
 */
export interface OptionSpec {
  readonly flag: string
  readonly env?: string
  /** A flag without a value (its variable takes a yes/no word). */
  readonly switch?: true
  readonly placeholder?: string
  readonly min?: number
  readonly max?: number
  readonly choices?: readonly string[]
  /** The value when neither flag nor variable is given: a count, or milliseconds for a duration. */
  readonly default?: number
  /** How --help says the default; derived from `default` when absent. */
  readonly defaultText?: string
  /** Said after the default in --help. */
  readonly defaultNote?: string
  readonly description: string
  /** Given several times; its variable takes a comma-separated list. */
  readonly repeatable?: boolean
}

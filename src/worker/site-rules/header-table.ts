import type { HeaderEdit } from './header-edit.js'
import type { HeaderBlock } from './parse-headers.js'
import { matchDynamic, matchKey, substitute } from './path-pattern.js'

/** Distinct edits kept for sharing; past it the table starts afresh (values with placeholders differ per path). */
const maxInterned = 1000

/**
 * The `_headers` blocks of one file version, ready to match: blocks without
 * splat or placeholder in a map by path, the others as regular expressions
 * compiled once. Every block that matches a path applies, in file order: a
 * name set by several has their values joined with ", " (Cloudflare's
 * rule), and a `! Name` in any of them removes that name whatever set it.
 */
export class HeaderTable {
  readonly #static = new Map<string, HeaderBlock[]>()
  readonly #dynamic: HeaderBlock[] = []
  readonly #interned = new Map<string, HeaderEdit>()
  readonly size: number

  constructor (blocks: readonly HeaderBlock[]) {
    this.size = blocks.length
    for (const block of blocks) {
      if (block.pattern.kind === 'dynamic') {
        this.#dynamic.push(block)
        continue
      }
      const list = this.#static.get(block.pattern.key)
      if (list === undefined) this.#static.set(block.pattern.key, [block])
      else list.push(block)
    }
  }

  /** The edit for the decoded request path `path`, undefined when no block matches or the blocks change nothing. */
  editFor (path: string): HeaderEdit | undefined {
    const matched: Array<{ block: HeaderBlock, params: ReadonlyMap<string, string> }> = []
    for (const block of this.#static.get(matchKey(path)) ?? []) matched.push({ block, params: new Map() })
    for (const block of this.#dynamic) {
      if (block.pattern.kind !== 'dynamic') continue
      const params = matchDynamic(block.pattern, path)
      if (params !== undefined) matched.push({ block, params })
    }
    if (matched.length === 0) return undefined
    matched.sort((a, b) => a.block.line - b.block.line)
    const values = new Map<string, string>()
    const remove = new Set<string>()
    for (const { block, params } of matched) {
      for (const [name, template] of block.set) {
        const value = block.substitutes ? substitute(template, params) : template
        const before = values.get(name)
        values.set(name, before === undefined ? value : `${before}, ${value}`)
      }
      for (const name of block.remove) remove.add(name)
    }
    const set = [...values].filter(([name]) => !remove.has(name))
    if (set.length === 0 && remove.size === 0) return undefined
    return this.#intern({ set, remove: [...remove] })
  }

  #intern (edit: HeaderEdit): HeaderEdit {
    const key = JSON.stringify(edit)
    const known = this.#interned.get(key)
    if (known !== undefined) return known
    if (this.#interned.size >= maxInterned) this.#interned.clear()
    this.#interned.set(key, edit)
    return edit
  }
}

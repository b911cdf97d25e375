// Just enough Markdown for test/docs.test.ts: headings and their GitHub
// anchors, relative links, table rows. Fenced code blocks are skipped (a
// `# comment` in a shell example is not a heading, a `[x](y)` in a config is
// not a link), and so are inline code spans.

/** The lines outside fenced code blocks, with their 1-based line numbers. */
function proseLines (markdown: string): Array<{ line: number, text: string }> {
  const lines: Array<{ line: number, text: string }> = []
  let fence: string | undefined
  markdown.split('\n').forEach((text, index) => {
    const opening = /^ {0,3}(`{3,}|~{3,})/.exec(text)?.[1]
    if (fence === undefined && opening !== undefined) fence = opening
    else if (fence !== undefined && text.trim().startsWith(fence) && text.trim().replace(/[`~]/g, '') === '') fence = undefined
    else if (fence === undefined) lines.push({ line: index + 1, text })
  })
  return lines
}

/**
 * GitHub's anchor for a heading's text: the rendered text (code spans keep
 * their content, links their text), lower-cased, every character that is not
 * a letter, digit, space, `-` or `_` dropped, each space turned into `-`.
 */
export function slug (heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/<[^>]+>/g, '')
  return rendered.trim().toLowerCase().replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-')
}

/** The anchors of a file's headings, a repeated one numbered as GitHub does (`x`, `x-1`, `x-2`). */
export function anchors (markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  for (const { text } of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1]
    if (heading === undefined) continue
    const base = slug(heading)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  return result
}

export interface Link { readonly line: number, readonly target: string }

/** Every inline link and image target outside code, in order. */
export function links (markdown: string): Link[] {
  const result: Link[] = []
  for (const { line, text } of proseLines(markdown)) {
    const prose = text.replace(/`[^`]*`/g, 'code')
    for (const match of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      result.push({ line, target: match[1] as string })
    }
  }
  return result
}

/** The cells of every table row (not the header's rule) outside code, trimmed; `\|` stays inside its cell. */
export function tableRows (markdown: string): string[][] {
  return proseLines(markdown)
    .map(({ text }) => text.trim())
    .filter((text) => text.startsWith('|') && !/^\|[\s:|-]+\|$/.test(text))
    .map((text) => text.slice(1, text.endsWith('|') ? -1 : undefined).split(/(?<!\\)\|/).map((cell) => cell.trim()))
}

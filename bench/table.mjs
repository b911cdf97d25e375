// @ts-check
/**
 * A console.table look-alike that prints strings without quotes and aligns
 * numbers to the right.
 */

/**
 * @param {string[]} headers
 * @param {string[][]} rows
 * @param {boolean[]} [rightAligned] per column; default: all but the first
 * @returns {string}
 */
export function formatTable (headers, rows, rightAligned) {
  const right = rightAligned ?? headers.map((_, i) => i > 0)
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (/** @type {string} */ left, /** @type {string} */ mid, /** @type {string} */ end) =>
    left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + end
  const cells = (/** @type {string[]} */ row, /** @type {boolean} */ isHeader) => '│' + widths.map((w, i) => {
    const text = row[i] ?? ''
    const padded = isHeader ? center(text, w) : right[i] === true ? text.padStart(w) : text.padEnd(w)
    return ` ${padded} `
  }).join('│') + '│'
  return [
    line('┌', '┬', '┐'),
    cells(headers, true),
    line('├', '┼', '┤'),
    ...rows.map((row) => cells(row, false)),
    line('└', '┴', '┘')
  ].join('\n')
}

/**
 * @param {string} text
 * @param {number} width
 */
function center (text, width) {
  const left = Math.floor((width - text.length) / 2)
  return (' '.repeat(left) + text).padEnd(width)
}

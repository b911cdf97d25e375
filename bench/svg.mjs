// @ts-check
/**
 * A hand-written SVG bar chart: one panel per scenario, one horizontal bar per
 * contender (median req/s), each panel on its own scale.
 */

/**
 * @typedef {import('./report.mjs').SummaryRow} SummaryRow
 * @typedef {import('./scenarios.mjs').Scenario} Scenario
 */

const colors = /** @type {Record<string, string>} */ ({
  seraph: '#2b6cb0',
  'seraph-1': '#90cdf4',
  'bare-https': '#4a5568',
  'bare-https-1': '#cbd5e0',
  'bare-https-rr': '#a0aec0',
  'bare-https-headers': '#718096',
  'fastify-cluster': '#dd6b20',
  nginx: '#2f855a'
})
const fallbackColors = ['#805ad5', '#d53f8c', '#718096']

const width = 960
const labelWidth = 250
const barMax = 360
const barHeight = 22
const barGap = 8
const panelTitle = 44
const panelGap = 22

/** @param {string} text */
function escape (text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/**
 * @param {{ title: string, subtitle: string, scenarios: Scenario[], summary: SummaryRow[] }} chart
 * @returns {string}
 */
export function renderChart (chart) {
  const parts = []
  let y = 70
  let fallback = 0
  /** @type {Map<string, string>} */
  const colorOf = new Map()
  for (const scenario of chart.scenarios) {
    const rows = chart.summary.filter((r) => r.scenario === scenario.id)
    if (rows.length === 0) continue
    const max = Math.max(...rows.map((r) => r.reqPerSec), 1)
    parts.push(`<text x="20" y="${y + 18}" class="panel">${escape(scenario.title)}</text>`)
    y += panelTitle - 14
    for (const row of rows) {
      let color = colorOf.get(row.contender) ?? colors[row.contender]
      if (color === undefined) color = fallbackColors[fallback++ % fallbackColors.length] ?? '#718096'
      colorOf.set(row.contender, color)
      const length = Math.max(1, Math.round((row.reqPerSec / max) * barMax))
      const ratio = row.ratioToSeraph === undefined ? '' : ` · ${row.ratioToSeraph.toFixed(2)}×`
      const value = `${int.format(row.reqPerSec)} req/s · ${row.mbPerSec.toFixed(1)} MB/s${ratio} · ${int.format(row.cpuUsPerRequest)} µs CPU/req`
      parts.push(
        `<text x="${labelWidth - 10}" y="${y + barHeight / 2 + 5}" class="label" text-anchor="end">${escape(row.label)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${length}" height="${barHeight}" rx="3" fill="${color}"/>`,
        `<text x="${labelWidth + length + 8}" y="${y + barHeight / 2 + 5}" class="value">${escape(value)}</text>`
      )
      y += barHeight + barGap
    }
    y += panelGap
  }
  parts.push(`<text x="20" y="${y + 4}" class="value">Bars: median req/s; every panel has its own scale. Ratios are to seraph with one worker per core. µs CPU/req: the server's own CPU time per response.</text>`)
  y += 14
  const height = y + 10
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<style>
  .title { font-size: 20px; font-weight: 600; fill: #1a202c; }
  .subtitle { font-size: 12px; fill: #4a5568; }
  .panel { font-size: 14px; font-weight: 600; fill: #2d3748; }
  .label { font-size: 13px; fill: #2d3748; }
  .value { font-size: 12px; fill: #4a5568; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="20" y="32" class="title">${escape(chart.title)}</text>
<text x="20" y="52" class="subtitle">${escape(chart.subtitle)}</text>
${parts.join('\n')}
</svg>
`
}

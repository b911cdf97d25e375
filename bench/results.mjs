// @ts-check
/** Writes one run's results: bench/results/<stamp>.json and its chart, .svg. */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { renderChart } from './svg.mjs'

/**
 * @typedef {import('./report.mjs').SummaryRow} SummaryRow
 * @typedef {import('./scenarios.mjs').Scenario} Scenario
 */

/**
 * Writes `<dir>/<stamp>.json` and `<dir>/<stamp>.svg`.
 * @param {string} dir
 * @param {string} stamp
 * @param {Record<string, unknown> & { summary: SummaryRow[], scenarios: Scenario[], title: string, subtitle: string }} data
 * @returns {Promise<{ json: string, svg: string }>}
 */
export async function writeResults (dir, stamp, data) {
  await mkdir(dir, { recursive: true })
  const json = join(dir, `${stamp}.json`)
  const svg = join(dir, `${stamp}.svg`)
  await writeFile(json, JSON.stringify(data, null, 2) + '\n')
  await writeFile(svg, renderChart({ title: data.title, subtitle: data.subtitle, scenarios: data.scenarios, summary: data.summary }))
  return { json, svg }
}

/// <reference lib="dom" />
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import t from 'tap'
import { packageRoot } from '../src/shared/package-info.js'
import { startSeraph } from './helpers/seraph-process.js'

// Debian's chromium; .ci/run installs it. No browser download.
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const artifacts = join(packageRoot, 'test', 'artifacts')

t.test('a real browser renders the blog from seraph over HTTP/2', async (t) => {
  const { port } = await startSeraph(t, ['--workers', '2'])
  const browser = await chromium.launch({
    executablePath,
    // Playwright gives it a fresh temporary profile. No network beyond
    // loopback here: keep Chromium from trying.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  // The development certificate is not in the browser's trust store.
  const context = await browser.newContext({ ignoreHTTPSErrors: true })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`) })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('requestfailed', (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText ?? ''}`))
  page.on('response', (response) => { if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`) })

  const home = await page.goto(`https://localhost:${port}/`, { waitUntil: 'load' })
  t.equal(home?.status(), 200)
  t.equal(await page.title(), 'Notes from the Edge')
  t.equal(await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol), 'h2',
    'the main document came over HTTP/2')
  const style = await page.evaluate(() => {
    const body = getComputedStyle(document.body)
    const wrap = document.querySelector('.wrap')
    return { display: body.display, margin: body.margin, maxWidth: wrap === null ? 'none' : getComputedStyle(wrap).maxWidth }
  })
  t.same(style.display, 'flex', 'the stylesheet is applied (body is a flex column)')
  t.not(style.maxWidth, 'none', 'the content column has its max-width')
  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, 'home.png'), fullPage: true })

  await page.goto(`https://localhost:${port}/posts/the-listening-socket/`, { waitUntil: 'load' })
  const image = await page.evaluate(async () => {
    const img = document.querySelector('figure img') as HTMLImageElement | null
    if (img === null) return null
    img.loading = 'eager'
    await img.decode()
    return { complete: img.complete, width: img.naturalWidth, height: img.naturalHeight }
  })
  t.same(image, { complete: true, width: 800, height: 450 }, 'the image loaded')
  await page.screenshot({ path: join(artifacts, 'post.png'), fullPage: true })

  t.same(problems, [], 'no console errors, no failed or missing resources, no CSP violation')

  const missing = await page.goto(`https://localhost:${port}/no-such-page`, { waitUntil: 'load' })
  t.equal(missing?.status(), 404)
  t.match(await page.title(), /not found/i, 'the 404 page renders')
  t.equal(await page.evaluate(() => getComputedStyle(document.body).display), 'flex', 'with its stylesheet')
})

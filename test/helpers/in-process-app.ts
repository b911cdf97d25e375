import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { buildApp, type App, type AppOptions } from '../../src/worker/app.js'
import { ensureDevCertificate } from '../../src/primary/certificates.js'
import { devCertDir } from '../../src/shared/state-dir.js'

interface Teardown { teardown (fn: () => unknown): void }

/** The Fastify app started in this process on 127.0.0.1 and a free port, with the dev certificate. */
export async function startApp (t: Teardown, root: string, options: Partial<AppOptions> = {}): Promise<{ app: App, port: number, ca: Buffer }> {
  const dev = await ensureDevCertificate(devCertDir(process.env))
  const app = await buildApp({
    ...options,
    root,
    logger: options.logger ?? pino({ level: 'silent' }),
    tls: { cert: readFileSync(dev.certPath), key: readFileSync(dev.keyPath) },
    workerId: 1
  })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, port: address.port, ca: readFileSync(dev.caPath) }
}

#!/usr/bin/env node
/**
 * The `seraph` command: parses the configuration, checks the certificate,
 * starts the primary and maps signals onto it. Operator errors end as one line
 * on stderr and exit code 1, never a stack trace.
 */
import { ensureDevCertificate, expiryWarningDays, loadCertificatePair } from './primary/certificates.js'
import { certificateNames } from './shared/certificate-names.js'
import { parseCommandLine, type Config } from './config/config.js'
import { isSeraphError, type SeraphError } from './shared/errors.js'
import { createLogger, type Logger } from './shared/logger.js'
import { helpText } from './config/help-text.js'
import { packageVersion } from './shared/package-info.js'
import { devCertDir } from './shared/state-dir.js'
import { Primary } from './primary/primary.js'
import { notifyServiceManager } from './primary/service-notify.js'

function exitWithError (error: SeraphError): never {
  process.stderr.write(`${error.toLine()}\n`)
  process.exit(1)
}

async function resolveCertificate (config: Config, log: Logger): Promise<{ certPath: string, keyPath: string, manualNames: string[] }> {
  if (config.cert !== undefined && config.key !== undefined) {
    const manualNames: string[] = []
    for (const { cert, key } of config.certPairs) {
      const pair = loadCertificatePair(cert, key)
      if (pair.daysLeft < expiryWarningDays) {
        log.warn({ cert, notAfter: pair.notAfter.toISOString(), daysLeft: pair.daysLeft }, 'certificate expires soon')
      }
      manualNames.push(...certificateNames(pair.cert))
      log.info({ cert, subject: pair.subject, notAfter: pair.notAfter.toISOString() }, 'certificate loaded')
    }
    return { certPath: config.cert, keyPath: config.key, manualNames }
  }
  // --domain alone: the ACME certificates (temporary ones at first) are all there is.
  if (config.acme !== undefined) return { certPath: '', keyPath: '', manualNames: [] }
  // In the user's state dir, not the package: an installed package is
  // root's and read-only, and an upgrade would replace it.
  const dev = await ensureDevCertificate(devCertDir(process.env))
  // Validate it like any other pair, so a damaged dev-cert/ fails clearly.
  loadCertificatePair(dev.certPath, dev.keyPath)
  log.info({ cert: dev.certPath, ca: dev.caPath, created: dev.created },
    'using the development certificate; trust its CA file to avoid browser warnings, or pass --cert and --key')
  return { certPath: dev.certPath, keyPath: dev.keyPath, manualNames: [] }
}

async function main (): Promise<void> {
  const request = parseCommandLine(process.argv.slice(2), process.env)
  if (request.action === 'help') {
    process.stdout.write(helpText(packageVersion))
    return
  }
  if (request.action === 'version') {
    process.stdout.write(`${packageVersion}\n`)
    return
  }
  const { config } = request
  const log = createLogger({ role: 'primary', level: config.logLevel })
  const { certPath, keyPath, manualNames } = await resolveCertificate(config, log)

  const primary = new Primary({
    config,
    logger: log,
    certPath,
    keyPath,
    manualNames,
    rereadConfig: () => {
      const again = parseCommandLine(process.argv.slice(2), process.env)
      if (again.action !== 'serve') throw new Error('unexpected --help or --version')
      return again.config
    },
    onExit: (code, error) => {
      if (error !== undefined) process.stderr.write(`${error.toLine()}\n`)
      log.info({ code }, 'exited')
      process.exit(code)
    }
  })
  let signals = 0
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      signals++
      log.info({ signal }, signals > 1 ? 'second signal: forcing shutdown' : 'signal received: draining')
      if (signals === 1) notifyServiceManager(log, 'stopping', 'draining').catch(() => {})
      primary.stop(signals > 1)
    })
  }

  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'signal received: rolling reload')
    primary.reload().catch((err: unknown) => log.error({ err }, 'reload crashed'))
  })
  process.on('SIGUSR2', () => {
    log.info({ signal: 'SIGUSR2' }, 'signal received: certificate reload')
    primary.reloadCertificate()
  })

  const { port, url, ...extra } = await primary.start()
  // Scripts and operators wait for this line, so it is printed at any level
  // but silent (at info, whatever --log-level hides).
  const readyLog = log.isLevelEnabled('info') || config.logLevel === 'silent' ? log : log.child({}, { level: 'info' })
  // The groups say whether this OpenSSL has the post-quantum one (tls-groups.ts).
  readyLog.info({ url, port, workers: config.workers, tlsGroups: config.tlsPolicy.groups, ...extra }, 'ready')
  // pm2's wait_ready listens for this on the IPC channel it opened.
  process.send?.('ready')
  // systemd's Type=notify waits for this.
  await notifyServiceManager(log, 'ready', `serving ${url} (${config.workers} workers)`)
}

main().catch((err: unknown) => {
  if (isSeraphError(err)) exitWithError(err)
  process.stderr.write(`seraph: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})

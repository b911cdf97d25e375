import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { SeraphErrorCode } from '../src/shared/errors.js'
import { tempDir } from './helpers/certificates.js'
import { expectCliFailure } from './helpers/cli-failure.js'

// The ACME flags are checked before the primary binds anything or asks the
// CA: a typo must end at once with one line naming it, not after a failed
// order minutes later. Run against the built CLI, as an operator would.
t.test('bad ACME configuration: one line with its code, exit 1', async (t) => {
  const dir = tempDir(t)
  const stateDir = join(dir, 'state')
  const notPem = join(dir, 'not-a-certificate.pem')
  writeFileSync(notPem, 'hello\n')
  const aFolder = join(dir, 'a-folder.pem')
  mkdirSync(aFolder)
  const acme = (...more: string[]): string[] => ['--state-dir', stateDir, ...more]
  const domain = acme('--domain', 'example.org')

  const cases: Array<[string, string[], SeraphErrorCode, string]> = [
    ['an empty --acme-profile', [...domain, '--acme-profile', ' '], 'SERAPH_ERR_MISSING_VALUE', '--acme-profile needs a value'],
    ['a name with an underscore and a bang', acme('--domain', 'bad_name!'), 'SERAPH_ERR_DOMAIN_INVALID', '"bad_name!"'],
    // Addresses are names a CA can issue for (RFC 8738: acme-ip.test.ts); these are not addresses.
    ['an IPv4 address with an octet over 255', acme('--domain', '192.0.2.300'), 'SERAPH_ERR_DOMAIN_INVALID', '"192.0.2.300"'],
    ['an IPv6 address with a zone', acme('--domain', 'fe80::1%eth0'), 'SERAPH_ERR_DOMAIN_INVALID', '"fe80::1%eth0"'],
    ['an empty name', acme('--domain', ''), 'SERAPH_ERR_DOMAIN_INVALID', '--domain ""'],
    ['a blank name', acme('--domain', '  '), 'SERAPH_ERR_DOMAIN_INVALID', '--domain'],
    ['a wildcard (needs DNS-01)', acme('--domain', '*.example.org'), 'SERAPH_ERR_DOMAIN_INVALID', '"*.example.org"'],
    ['a single label', acme('--domain', 'localhost'), 'SERAPH_ERR_DOMAIN_INVALID', '"localhost"'],
    ['an empty label', acme('--domain', 'a..example.org'), 'SERAPH_ERR_DOMAIN_INVALID', '"a..example.org"'],
    ['a label of 64 characters', acme('--domain', `${'a'.repeat(64)}.org`), 'SERAPH_ERR_DOMAIN_INVALID', '--domain'],
    ['a bad name after a good one', acme('--domain', 'example.org', '--domain', '-x.org'), 'SERAPH_ERR_DOMAIN_INVALID', '"-x.org"'],
    ['http-01 without --redirect-port', [...domain, '--acme-challenge', 'http-01'], 'SERAPH_ERR_ACME_HTTP01_NEEDS_REDIRECT', '--redirect-port'],
    ['an unknown challenge type', [...domain, '--acme-challenge', 'dns-01'], 'SERAPH_ERR_INVALID_CHOICE', '--acme-challenge'],
    ['a missing --acme-ca', [...domain, '--acme-ca', join(dir, 'missing.pem')], 'SERAPH_ERR_CERT_UNREADABLE', 'missing.pem: cannot read the file (ENOENT)'],
    ['--acme-ca is a folder', [...domain, '--acme-ca', aFolder], 'SERAPH_ERR_CERT_UNREADABLE', '(EISDIR)'],
    ['--acme-ca is not PEM', [...domain, '--acme-ca', notPem], 'SERAPH_ERR_CERT_INVALID', '--acme-ca'],
    ['--acme-directory is not a URL', [...domain, '--acme-directory', 'not a url'], 'SERAPH_ERR_ACME_DIRECTORY_INVALID', '"not a url"'],
    ['--acme-directory is not http(s)', [...domain, '--acme-directory', 'ftp://ca.example/dir'], 'SERAPH_ERR_ACME_DIRECTORY_INVALID', 'ftp://'],
    ['--acme-directory has no host', [...domain, '--acme-directory', 'https://'], 'SERAPH_ERR_ACME_DIRECTORY_INVALID', '"https://"'],
    ['--acme-directory has a bad port', [...domain, '--acme-directory', 'https://ca.example:99999/dir'], 'SERAPH_ERR_ACME_DIRECTORY_INVALID', '99999'],
    ['--acme-email is not an address', [...domain, '--acme-email', 'me'], 'SERAPH_ERR_ACME_EMAIL_INVALID', '"me"']
  ]
  for (const [name, args, code, mention] of cases) {
    await t.test(name, (t) => expectCliFailure(t, args, code, mention))
  }

  await t.test('SERAPH_DOMAIN is split on commas and each name checked', (t) =>
    expectCliFailure(t, acme(), 'SERAPH_ERR_DOMAIN_INVALID', 'SERAPH_DOMAIN (--domain) "10.0.0.256"', { env: { SERAPH_DOMAIN: 'example.org,10.0.0.1,10.0.0.256' } }))
  await t.test('an empty item in SERAPH_DOMAIN', (t) =>
    expectCliFailure(t, acme(), 'SERAPH_ERR_DOMAIN_INVALID', 'SERAPH_DOMAIN (--domain) ""', { env: { SERAPH_DOMAIN: 'example.org,,www.example.org' } }))
})

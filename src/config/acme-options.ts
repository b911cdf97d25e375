import type { OptionSpec } from './option-spec.js'

/** The options of automatic HTTPS (ACME); validated by acme-config.ts. */
export const acmeOptionSpecs = {
  domain: {
    flag: '--domain',
    env: 'SERAPH_DOMAIN',
    placeholder: 'NAME',
    repeatable: true,
    defaultText: 'none',
    description: 'get and renew a certificate for this name automatically (ACME); repeat for more names'
  },
  acmeDirectory: {
    flag: '--acme-directory',
    env: 'SERAPH_ACME_DIRECTORY',
    placeholder: 'URL',
    defaultText: "Let's Encrypt production",
    description: 'ACME directory URL of the certificate authority'
  },
  acmeEmail: {
    flag: '--acme-email',
    env: 'SERAPH_ACME_EMAIL',
    placeholder: 'ADDRESS',
    defaultText: 'none',
    description: 'contact address given to the certificate authority'
  },
  acmeCa: {
    flag: '--acme-ca',
    env: 'SERAPH_ACME_CA',
    placeholder: 'FILE',
    defaultText: 'the system CAs',
    description: "extra PEM CA certificates to trust for the ACME server's own HTTPS"
  },
  acmeChallenge: {
    flag: '--acme-challenge',
    env: 'SERAPH_ACME_CHALLENGE',
    placeholder: 'TYPE',
    choices: ['http-01', 'tls-alpn-01'],
    defaultText: 'http-01 with --redirect-port, tls-alpn-01 without',
    description: 'ACME challenge type'
  },
  acmeProfile: {
    flag: '--acme-profile',
    env: 'SERAPH_ACME_PROFILE',
    placeholder: 'NAME',
    defaultText: "none: the CA's default",
    description: "certificate profile asked for in every order (Let's Encrypt: classic, tlsserver, shortlived); checked against the CA's directory at start"
  },
  stateDir: {
    flag: '--state-dir',
    env: 'SERAPH_STATE_DIR',
    placeholder: 'DIR',
    defaultText: '$XDG_STATE_HOME/seraph or ~/.local/state/seraph',
    description: 'where the ACME account key and certificates are kept (created with mode 0700)'
  }
} as const satisfies Record<string, OptionSpec>

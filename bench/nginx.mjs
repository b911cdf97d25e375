// @ts-check
/**
 * nginx from the distribution's package, with a configuration written into a
 * temporary prefix: same root, same certificate, loopback only, nothing
 * written outside that prefix.
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** The nginx binary on PATH, or undefined. */
export function findNginx () {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, 'nginx')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

/**
 * `nginx -v` says e.g. "nginx version: nginx/1.22.1" on stderr.
 * @param {string} binary
 */
export function nginxVersion (binary) {
  const result = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 5000 })
  return /nginx\/(\S+)/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[1] ?? 'unknown'
}

/**
 * @param {{ prefix: string, port: number, workers: number, root: string, certPath: string, keyPath: string }} options
 */
export function nginxConfig (options) {
  const { prefix } = options
  // Debian's package ships the usual types table; fall back to the few types
  // the sample blog needs.
  const mimeTypes = existsSync('/etc/nginx/mime.types')
    ? 'include /etc/nginx/mime.types;'
    : `types {
        text/html html; text/css css; text/xml xml; image/png png; image/svg+xml svg;
        application/javascript js; application/json json;
    }`
  // Running as root, the workers would otherwise switch to "nobody".
  const user = process.getuid?.() === 0 ? 'user root;\n' : ''
  return `# Written by seraph's bench/nginx.mjs for one benchmark run.
${user}worker_processes ${options.workers};
daemon off;
master_process on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;

events {
    worker_connections 1024;
}

http {
    ${mimeTypes}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;

    client_body_temp_path ${prefix}/client_body;
    proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi;
    uwsgi_temp_path ${prefix}/uwsgi;
    scgi_temp_path ${prefix}/scgi;

    server {
        listen 127.0.0.1:${options.port} ssl;
        server_name localhost;
        ssl_certificate ${options.certPath};
        ssl_certificate_key ${options.keyPath};
        ssl_protocols TLSv1.2 TLSv1.3;
        root ${options.root};
        index index.html;
    }
}
`
}

/**
 * The command line that runs `config` in the foreground with everything
 * (including the early error log) inside `prefix`.
 * @param {string} prefix
 * @param {string} configPath
 */
export function nginxArgs (prefix, configPath) {
  return ['-p', prefix, '-c', configPath, '-e', join(prefix, 'error.log')]
}

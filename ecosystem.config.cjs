// pm2 process file: `pm2 start ecosystem.config.cjs` (after `npm run build`).
//
// seraph's primary is itself the cluster: run it in pm2's FORK mode with ONE
// instance (pm2's cluster mode would bypass the primary and its shared socket).
// Configure seraph with SERAPH_* variables in the shell that runs `pm2 start`
// (they are passed on below) or with `args`.
const seraphEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('SERAPH_')))

module.exports = {
  apps: [
    {
      name: 'seraph',
      script: './dist/src/cli.js',
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      // The primary calls process.send('ready') once every worker listens.
      wait_ready: true,
      listen_timeout: 15000,
      // pm2 stops with SIGINT. With treekill off it signals the primary only,
      // which drains its workers itself (they would also drain on SIGINT).
      treekill: false,
      shutdown_with_message: false,
      // Longer than seraph's --shutdown-timeout (10 s) plus its 5 s backstop,
      // so pm2 never SIGKILLs a draining server.
      kill_timeout: 16000,
      autorestart: true,
      max_restarts: 10,
      min_uptime: 5000,
      // seraph's pino lines carry their own timestamps.
      time: false,
      merge_logs: true,
      env: {
        NODE_ENV: 'production',
        ...seraphEnv
      }
    }
  ]
}

// pm2 process file. seraph's primary is itself the cluster: run it in pm2's
// fork mode with ONE instance (pm2's cluster mode would bypass the primary).
module.exports = {
  apps: [
    {
      name: 'seraph',
      script: './dist/src/cli.js',
      args: ['--port', '8443'],
      exec_mode: 'fork',
      instances: 1,
      // The primary calls process.send('ready') once every worker listens.
      wait_ready: true,
      listen_timeout: 15000,
      // Longer than seraph's --shutdown-timeout (10 s) plus its 5 s backstop,
      // so pm2 never SIGKILLs a draining server.
      kill_timeout: 16000,
      // pm2 signals the whole process tree (SIGINT); seraph's workers treat
      // that as "drain", so a plain signal is the cleanest option.
      shutdown_with_message: false,
      autorestart: true,
      max_restarts: 10,
      min_uptime: 5000,
      // seraph's pino lines carry their own timestamps.
      time: false,
      merge_logs: true,
      env: {
        NODE_ENV: 'production'
      }
    }
  ]
}

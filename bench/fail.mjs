// @ts-check

/**
 * How a bench script or a bench server refuses bad input or gives up:
 * `name: message` on stderr and exit 1 (a script's exit stops what
 * runBenchScript started).
 * @param {string} name e.g. `bench:ab`, `bare-https-floor`
 * @returns {(message: string) => never}
 */
export function failWith (name) {
  return (message) => {
    process.stderr.write(`${name}: ${message}\n`)
    process.exit(1)
  }
}

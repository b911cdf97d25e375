import { probeTls, type ProbeOptions } from '../../bench/tls-probe.mjs'

// One probe for the bench and the tests: bench/tls-probe.mjs.
export { probeTls, type ProbeOptions, type TlsProbe } from '../../bench/tls-probe.mjs'

/** `rounds` fresh connections, each offering the session of the one before; counts resumptions. */
export async function resumptionRate (port: number, options: ProbeOptions, rounds: number): Promise<{ resumed: number, ok: number, session: Buffer | undefined }> {
  let session = options.session ?? (await probeTls(port, options)).session
  let resumed = 0
  let ok = 0
  for (let i = 0; i < rounds; i++) {
    const result = await probeTls(port, { ...options, ...(session === undefined ? {} : { session }) })
    if (result.reused) resumed++
    if (result.status === 200) ok++
    session = result.session ?? session
  }
  return { resumed, ok, session }
}

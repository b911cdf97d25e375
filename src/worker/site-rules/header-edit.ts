import type { OutgoingHttpHeaders } from 'node:http'

/**
 * What `_headers` does to the answers for one path: the headers it sets
 * (replacing seraph's of the same name) and the ones it removes. Edits with
 * the same content are one object (header-table.ts interns them), so the
 * answers prepared per file and edit (cached-response.ts) are shared by
 * every path the same blocks match.
 */
export interface HeaderEdit {
  /** Lower-case name and value, in the order the blocks gave them; never a removed name. */
  readonly set: ReadonlyArray<readonly [string, string]>
  /** Lower-case names. */
  readonly remove: readonly string[]
}

/**
 * `headers` with `edit` applied, as a new object: a set name keeps the
 * position seraph's header had, a new one comes after them, a removed one
 * goes; the same order Fastify's reply gets from {@link editReply}, so the
 * fast paths and Fastify send the same headers in the same order. A 304
 * gets no `content-type` (it describes no body, RFC 9110 §15.4.5).
 */
export function applyEdit (headers: Readonly<OutgoingHttpHeaders>, edit: HeaderEdit, status: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...headers }
  for (const [name, value] of edit.set) {
    if (status !== 304 || name !== 'content-type') out[name] = value
  }
  for (const name of edit.remove) Reflect.deleteProperty(out, name)
  return out
}

/** What a Fastify reply needs to apply an edit (onSend, before anything is written). */
export interface EditableReply {
  readonly statusCode: number
  header (name: string, value: string): unknown
  removeHeader (name: string): unknown
  readonly raw: { removeHeader (name: string): void }
}

/**
 * Applies `edit` to a reply Fastify has not sent yet. A removed name is also
 * taken off the raw response: @fastify/static sets Cache-Control there.
 */
export function editReply (reply: EditableReply, edit: HeaderEdit): void {
  for (const [name, value] of edit.set) {
    if (reply.statusCode !== 304 || name !== 'content-type') reply.header(name, value)
  }
  for (const name of edit.remove) {
    reply.removeHeader(name)
    reply.raw.removeHeader(name)
  }
}

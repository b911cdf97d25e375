// @ts-check
/**
 * `--contenders a,b` and `--scenarios a,b` of the bench scripts: the ids
 * given, each checked against the known ones.
 * @param {string | undefined} text the option's value; undefined when not given
 * @param {string[]} known
 * @param {string} what `contender` or `scenario`, for the error
 * @param {(message: string) => never} fail
 * @returns {string[] | undefined} undefined when the option was not given
 */
export function parseIdList (text, known, what, fail) {
  if (text === undefined) return undefined
  const ids = text.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const id of ids) if (!known.includes(id)) fail(`unknown ${what} ${id}; known: ${known.join(', ')}`)
  return ids
}

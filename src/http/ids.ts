import { ChatError } from '../errors.js'

const ID_SHAPE = /^[1-9][0-9]{0,15}$/

/** A path id that is not a positive integer names nothing, so it is a 404 like any unknown id. */
export function parseId(raw: string, what: string): number {
  const id = ID_SHAPE.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(id)) throw new ChatError('not_found', `${what} not found`)
  return id
}

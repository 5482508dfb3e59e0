import { ChatError } from '../errors.js'

const ID_SHAPE = /^[1-9][0-9]{0,15}$/
const COUNT_SHAPE = /^[0-9]{1,6}$/
const SEQ_SHAPE = /^(0|[1-9][0-9]{0,15})$/

/** A path id that is not a positive integer names nothing, so it is a 404 like any unknown id. */
export function parseId(raw: string, what: string): number {
  const id = ID_SHAPE.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(id)) throw new ChatError('not_found', `${what} not found`)
  return id
}

/** A count in the query string: plain decimal digits from 1 to max ("1e2", "1.0" and " 5" are refused). */
export function parseCount(raw: string | undefined, name: string, fallback: number, max: number): number {
  if (raw === undefined) return fallback
  const n = COUNT_SHAPE.test(raw) ? Number(raw) : NaN
  if (!(n >= 1 && n <= max)) throw new ChatError('invalid', `${name} must be an integer from 1 to ${max}`)
  return n
}

/** A seq in the query string: plain decimal digits, 0 or more. */
export function parseSeq(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined
  const n = SEQ_SHAPE.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(n)) throw new ChatError('invalid', `${name} must be a seq: an integer from 0`)
  return n
}

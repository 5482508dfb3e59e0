import Type from 'typebox'

/** Parts the REST shapes (rest.ts, account-shapes.ts) are made of. */

export const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()])
/** Query parameters arrive as strings; the routes parse and range-check them (http/params.ts). */
export const QueryNumber = Type.Optional(Type.String())
/** A cursor over a sequence of ids, as the routes give it back in `next`. */
export const IdCursor = Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' }))

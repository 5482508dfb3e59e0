import Type from 'typebox'

/** Response shapes of the specification; fastify serialises with them, so no other key leaks out. */
export const StatusReply = Type.Object({ status: Type.String() })
export const StatusUrlReply = Type.Object({ status: Type.String(), url: Type.String() })

export const MessageShape = Type.Object({
  user: Type.String(),
  text: Type.String(),
  timestamp: Type.String(),
  url: Type.String(),
  edited: Type.Union([Type.String(), Type.Null()]),
})

import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Accounts } from '../chat/accounts.js'
import type { Sessions } from '../chat/sessions.js'
import { Password } from '../chat/fields.js'
import { StatusReply } from './schemas.js'

const RegisterBody = Type.Object({
  username: Type.String({ maxLength: 64 }),
  password: Type.Optional(Password),
})

export async function authRoutes(app: FastifyInstance, options: { accounts: Accounts; sessions: Sessions }) {
  app.post<{ Body: Type.Static<typeof RegisterBody> }>(
    '/auth/register',
    { schema: { body: RegisterBody, response: { 201: StatusReply } } },
    async (request, reply) => {
      const userId = await options.accounts.register(request.body.username, request.body.password)
      const token = await options.sessions.start(userId, request.headers['user-agent'])
      app.setSessionCookie(reply, token)
      return reply.code(201).send({ status: 'success' })
    },
  )
}

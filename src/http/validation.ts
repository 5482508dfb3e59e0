import { Ajv } from 'ajv'
import type { FastifyInstance } from 'fastify'

/**
 * JSON bodies are validated strictly: {"text": 5} is a 400, not the string "5". The query string and
 * path parameters are text by nature, so they are coerced to the schema's types.
 */
export function installValidators(app: FastifyInstance): void {
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: true, allErrors: false })
  const coercing = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: true, allErrors: false })
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema))
}

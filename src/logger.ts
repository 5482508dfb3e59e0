/** The part of a pino logger (fastify's) that the modules below app.ts use. */
export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

import bcrypt from 'bcrypt'
import { ChatError } from '../errors.js'

export const PASSWORD_MIN_CHARS = 8
/** bcrypt ignores everything past 72 bytes, so longer passwords are refused rather than cut. */
export const PASSWORD_MAX_BYTES = 72

/** Throws `invalid` with the reason when a password breaks a rule. */
export function checkPasswordRules(password: string): void {
  if ([...password].length < PASSWORD_MIN_CHARS) throw new ChatError('invalid', `password must be at least ${PASSWORD_MIN_CHARS} characters`)
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES)
    throw new ChatError('invalid', `password must be at most ${PASSWORD_MAX_BYTES} bytes`)
}

/**
 * bcrypt at the configured cost. Every check runs exactly one comparison, against a hash made at
 * start-up when there is no real one, so that an unknown user, a user without a password and a
 * wrong password take the same time.
 */
export async function createPasswords(cost: number) {
  const standIn = await bcrypt.hash(`no account ${crypto.randomUUID()}`, cost)
  return {
    hash(password: string): Promise<string> {
      checkPasswordRules(password)
      return bcrypt.hash(password, cost)
    },

    /** A password over 72 bytes never matches: bcrypt would compare only its first 72. */
    async matches(password: string, hash: string | null | undefined): Promise<boolean> {
      const tooLong = Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES
      const same = await bcrypt.compare(tooLong ? '' : password, hash ?? standIn)
      return same && !tooLong && hash !== null && hash !== undefined
    },
  }
}

export type Passwords = Awaited<ReturnType<typeof createPasswords>>

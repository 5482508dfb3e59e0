import bcrypt from 'bcrypt'
import { ChatError } from '../errors.js'
import type { Db } from '../storage/db.js'
import { insertUser } from '../storage/users.js'

/** 3 to 32 letters, digits, '_', '.' or '-', starting with a letter or digit. Unique in any letter case. */
const USERNAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/
export const PASSWORD_MIN_CHARS = 8
/** bcrypt ignores everything past 72 bytes, so longer passwords are refused rather than cut. */
export const PASSWORD_MAX_BYTES = 72

export function createAccounts(deps: { db: Db; bcryptCost: number }) {
  return {
    /** Creates a user; the password is optional (username-only accounts). */
    async register(username: string, password?: string): Promise<number> {
      if (!USERNAME_SHAPE.test(username))
        throw new ChatError('invalid', "username must be 3 to 32 letters, digits, '_', '.' or '-', starting with a letter or digit")
      if (password !== undefined) {
        if ([...password].length < PASSWORD_MIN_CHARS)
          throw new ChatError('invalid', `password must be at least ${PASSWORD_MIN_CHARS} characters`)
        if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES)
          throw new ChatError('invalid', `password must be at most ${PASSWORD_MAX_BYTES} bytes`)
      }
      const hash = password === undefined ? null : await bcrypt.hash(password, deps.bcryptCost)
      const userId = await insertUser(deps.db, username, hash)
      if (userId === undefined) throw new ChatError('username_taken', 'username taken')
      return userId
    },
  }
}

export type Accounts = ReturnType<typeof createAccounts>

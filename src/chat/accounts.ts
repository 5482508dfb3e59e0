import type { ExternalIdentity } from '../auth/external-issuer.js'
import type { Passwords } from '../auth/passwords.js'
import type { RateLimits } from '../auth/rate-limits.js'
import { ChatError } from '../errors.js'
import { DISPLAY_NAME_MAX_CHARS } from '../protocol/limits.js'
import type { Logger } from '../logger.js'
import { type Db, isUniqueViolation } from '../storage/db.js'
import type { Role } from '../storage/schema.js'
import {
  type ProfileColumns,
  type UserChanges,
  type UserRow,
  anonymiseUser,
  findUser,
  insertUser,
  isEmailTaken,
  listUsers,
  updateUser,
} from '../storage/users.js'
import type { SessionUser, Sessions } from '../auth/sessions.js'
import { pageOf, rowsToRead } from './pages.js'

/** 3 to 32 letters, digits, '_', '.' or '-', starting with a letter or digit. Unique in any letter case. */
const USERNAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/
export const USERS_PAGE_MAX = 200

/** The optional parts of a profile (their formats are the schemas' in protocol/fields.ts); null clears one. */
export interface ProfileFields {
  firstName?: string | null
  lastName?: string | null
  email?: string | null
  phone?: string | null
}

/** What anyone signed in may see of a user: never the email or phone. */
export interface PublicProfileView {
  username: string
  displayName: string | null
  firstName: string | null
  lastName: string | null
}

/** A user as the user and admins see them, email and phone included. */
export interface UserView extends PublicProfileView {
  id: number
  email: string | null
  phone: string | null
  role: Role
  disabled: boolean
  hasPassword: boolean
  external: boolean
  createdAt: string
}

export interface NewAccount extends ProfileFields {
  username: string
  password?: string
  role?: Role
  displayName?: string | null
}

export interface AdminChanges extends ProfileFields {
  username?: string
  password?: string
  displayName?: string | null
  role?: Role
  disabled?: boolean
}

const publicView = (row: UserRow): PublicProfileView => ({
  username: row.username,
  displayName: row.display_name,
  firstName: row.first_name,
  lastName: row.last_name,
})

const view = (row: UserRow): UserView => ({
  id: row.id,
  ...publicView(row),
  email: row.email,
  phone: row.phone,
  role: row.role,
  disabled: row.disabled_at !== null,
  hasPassword: row.password_hash !== null,
  external: row.external_issuer !== null,
  createdAt: row.created_at.toISOString(),
})

function checkUsername(username: string): void {
  if (!USERNAME_SHAPE.test(username))
    throw new ChatError('invalid', "username must be 3 to 32 letters, digits, '_', '.' or '-', starting with a letter or digit")
}

/** The profile fields given, as the columns they set. */
function profileColumns(fields: ProfileFields): ProfileColumns {
  const columns: ProfileColumns = {}
  if (fields.firstName !== undefined) columns.first_name = fields.firstName
  if (fields.lastName !== undefined) columns.last_name = fields.lastName
  if (fields.email !== undefined) columns.email = fields.email
  if (fields.phone !== undefined) columns.phone = fields.phone
  return columns
}

/** Columns a user's sessions survive a change of: the display name and the profile. */
const PROFILE_COLUMNS = new Set<keyof UserChanges>(['display_name', 'first_name', 'last_name', 'email', 'phone'])

/** A unique index refused a row: the email's (email_taken), or else the name's (username_taken). */
function takenError(err: unknown): ChatError | undefined {
  if (isEmailTaken(err)) return new ChatError('email_taken', 'email taken')
  if (isUniqueViolation(err)) return new ChatError('username_taken', 'username taken')
  return undefined
}

const WRONG_LOGIN = 'wrong username or password'

export interface AccountsDeps {
  db: Db
  passwords: Passwords
  sessions: Sessions
  limits: RateLimits
  log: Logger
}

export function createAccounts(deps: AccountsDeps) {
  const { db, passwords, sessions, limits, log } = deps

  /** A new account; a name taken already is username_taken, an email taken already email_taken (the unique indexes decide, so a race has one winner). */
  async function create(user: NewAccount): Promise<number> {
    checkUsername(user.username)
    const passwordHash = user.password === undefined ? null : await passwords.hash(user.password)
    let userId: number | undefined
    try {
      userId = await insertUser(db, { username: user.username, passwordHash, role: user.role, displayName: user.displayName, profile: profileColumns(user) })
    } catch (err) {
      throw takenError(err) ?? err
    }
    if (userId === undefined) throw new ChatError('username_taken', 'username taken')
    return userId
  }

  /** A change that a name or email taken already refuses with username_taken or email_taken. */
  async function change(id: number, changes: UserChanges): Promise<UserRow> {
    let row: UserRow | undefined
    try {
      row = await updateUser(db, id, changes)
    } catch (err) {
      throw takenError(err) ?? err
    }
    if (!row) throw new ChatError('not_found', 'user not found')
    return row
  }

  /** A new account for an external identity, under the name it suggests or, when that is taken or unusable, a variant. */
  async function provision(identity: ExternalIdentity): Promise<number> {
    const base = (identity.suggestedUsername ?? 'user').replace(/[^A-Za-z0-9_.-]/g, '').replace(/^[_.-]+/, '').slice(0, 24)
    const stem = base.length >= 3 ? base : `user${base}`
    for (let attempt = 0; attempt < 5; attempt++) {
      const username = attempt === 0 ? stem : `${stem}-${Math.floor(Math.random() * 1e6)}`
      try {
        const userId = await insertUser(db, {
          username,
          passwordHash: null,
          displayName: identity.displayName?.slice(0, DISPLAY_NAME_MAX_CHARS) ?? null,
          external: identity,
        })
        if (userId !== undefined) return userId
      } catch (err) {
        // Another node provisioned the same identity at the same moment.
        if (!isUniqueViolation(err)) throw err
        const existing = await findUser(db, identity)
        if (existing) return existing.id
        throw err
      }
    }
    throw new ChatError('username_taken', 'no free username for this identity')
  }

  return {
    /** Creates a user; the password and the profile are optional (username-only accounts). Counted per client IP. */
    async register(account: Omit<NewAccount, 'role' | 'displayName'>, ip: string): Promise<number> {
      checkUsername(account.username)
      await limits.registrationsPerIp.consume(ip)
      // Field by field: whatever else a request body carries (a role, say) is not passed on.
      const { username, password, firstName, lastName, email, phone } = account
      return create({ username, password, firstName, lastName, email, phone })
    },

    /**
     * The user whose name and password these are. Whatever is wrong (unknown user, no password
     * set, wrong password, disabled account) gets the same answer after one bcrypt comparison.
     * Failures count per account and per IP.
     */
    async login(username: string, password: string, ip: string): Promise<number> {
      const account = username.toLowerCase()
      await Promise.all([limits.loginFailuresPerAccount.check(account), limits.loginFailuresPerIp.check(ip)])
      const user = await findUser(db, { username })
      const matches = await passwords.matches(password, user?.password_hash)
      if (!user || !matches || user.disabled_at !== null) {
        await Promise.all([limits.loginFailuresPerAccount.consume(account), limits.loginFailuresPerIp.consume(ip)])
        throw new ChatError('unauthorised', WRONG_LOGIN)
      }
      await limits.loginFailuresPerAccount.reset(account)
      return user.id
    },

    /**
     * Sets or changes the password of the signed-in user. Changing one needs the current password;
     * either way the user's other sessions end.
     */
    async setPassword(user: SessionUser, password: string, currentPassword: string | undefined): Promise<void> {
      const row = await findUser(db, { id: user.userId })
      if (!row) throw new ChatError('unauthorised')
      if (row.password_hash !== null) {
        const account = row.username.toLowerCase()
        await limits.loginFailuresPerAccount.check(account)
        if (currentPassword === undefined || !(await passwords.matches(currentPassword, row.password_hash))) {
          await limits.loginFailuresPerAccount.consume(account)
          throw new ChatError('forbidden', 'the current password is wrong')
        }
      }
      await change(user.userId, { password_hash: await passwords.hash(password) })
      await sessions.revokeAll(user.userId, user.sessionId)
    },

    async profile(userId: number): Promise<UserView> {
      const row = await findUser(db, { id: userId })
      if (!row) throw new ChatError('unauthorised')
      return view(row)
    },

    /** Sets or clears the display name and the profile fields given. */
    async updateProfile(userId: number, changes: ProfileFields & { displayName?: string | null }): Promise<UserView> {
      const columns: UserChanges = profileColumns(changes)
      if (changes.displayName !== undefined) columns.display_name = changes.displayName
      if (Object.keys(columns).length === 0) throw new ChatError('invalid', 'nothing to change')
      return view(await change(userId, columns))
    },

    /** The public profile of the user of that name (any letter case), or 404: a deleted account's name names nobody. */
    async publicProfile(username: string): Promise<PublicProfileView> {
      const row = await findUser(db, { username })
      if (!row) throw new ChatError('not_found', 'user not found')
      return publicView(row)
    },

    /** The user of a valid token of the trusted issuer; the first token of an identity creates its account. */
    async signInExternal(identity: ExternalIdentity): Promise<number> {
      const existing = await findUser(db, identity)
      if (existing?.disabled_at) throw new ChatError('unauthorised', 'account disabled')
      return existing ? existing.id : provision(identity)
    },

    /** Makes sure the configured first admin exists. An existing account of that name is never promoted. */
    async ensureAdmin(username: string, password: string): Promise<void> {
      const existing = await findUser(db, { username })
      if (existing?.role === 'admin') return
      if (existing) {
        log.warn({ username }, 'ADMIN_USERNAME names an existing account that is not an admin; it was not promoted')
        return
      }
      try {
        await create({ username, password, role: 'admin' })
        log.info({ username }, 'created the first admin')
      } catch (err) {
        // Another node created it at the same moment.
        if (!(err instanceof ChatError && err.code === 'username_taken')) throw err
      }
    },

    admin: {
      async create(user: NewAccount): Promise<UserView> {
        const id = await create(user)
        return view((await findUser(db, { id })) as UserRow)
      },

      /** A page of users in id order after `afterId`, and the cursor of the next page (null at the end). */
      async list(afterId: number, limit: number): Promise<{ users: UserView[]; next: string | null }> {
        const { rows, next } = pageOf(await listUsers(db, afterId, rowsToRead(limit)), limit, (row) => String(row.id))
        return { users: rows.map(view), next }
      },

      async get(id: number): Promise<UserView> {
        const row = await findUser(db, { id })
        if (!row) throw new ChatError('not_found', 'user not found')
        return view(row)
      },

      /**
       * Renames, resets the password, changes the role, disables or enables, or changes the profile.
       * Anything but the display name and profile ends the user's sessions, so that no device goes
       * on under the old name, role or password. An admin cannot disable or demote themselves.
       */
      async update(actor: SessionUser, id: number, changes: AdminChanges): Promise<UserView> {
        if (id === actor.userId && (changes.disabled === true || (changes.role !== undefined && changes.role !== 'admin')))
          throw new ChatError('invalid', 'an admin cannot disable or demote their own account')
        const columns: UserChanges = profileColumns(changes)
        if (changes.username !== undefined) {
          checkUsername(changes.username)
          columns.username = changes.username
        }
        if (changes.password !== undefined) columns.password_hash = await passwords.hash(changes.password)
        if (changes.displayName !== undefined) columns.display_name = changes.displayName
        if (changes.role !== undefined) columns.role = changes.role
        if (changes.disabled !== undefined) columns.disabled_at = changes.disabled ? new Date() : null
        if (Object.keys(columns).length === 0) throw new ChatError('invalid', 'nothing to change')
        const row = await change(id, columns)
        if (Object.keys(columns).some((column) => !PROFILE_COLUMNS.has(column as keyof UserChanges))) await sessions.revokeAll(id)
        return view(row)
      },

      /** Deletes an account: see anonymiseUser. Its sessions end everywhere; its messages stay. */
      async remove(actor: SessionUser, id: number): Promise<void> {
        if (id === actor.userId) throw new ChatError('invalid', 'an admin cannot delete their own account')
        if (!(await anonymiseUser(db, id))) throw new ChatError('not_found', 'user not found')
        await sessions.revokeAll(id)
      },
    },
  }
}

export type Accounts = ReturnType<typeof createAccounts>

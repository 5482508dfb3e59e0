import type { ProfileColumns, UserChanges, UserRow } from '../storage/users.js'

/**
 * Profiles (docs/api.md, "Profiles"): the optional names, email and phone of a user, and who sees
 * which. Their formats are the schemas' in protocol/fields.ts; the email's uniqueness is a unique
 * index's (migrations/0007).
 */

/** The optional parts of a profile; null clears one. */
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

/** A user as anyone signed in sees them. */
export const publicView = (row: UserRow): PublicProfileView => ({
  username: row.username,
  displayName: row.display_name,
  firstName: row.first_name,
  lastName: row.last_name,
})

/** The profile fields given, as the columns they set. */
export function profileColumns(fields: ProfileFields): ProfileColumns {
  const columns: ProfileColumns = {}
  if (fields.firstName !== undefined) columns.first_name = fields.firstName
  if (fields.lastName !== undefined) columns.last_name = fields.lastName
  if (fields.email !== undefined) columns.email = fields.email
  if (fields.phone !== undefined) columns.phone = fields.phone
  return columns
}

/** Columns a user's sessions survive a change of: the display name and the profile. */
export const PROFILE_COLUMNS = new Set<keyof UserChanges>(['display_name', 'first_name', 'last_name', 'email', 'phone'])


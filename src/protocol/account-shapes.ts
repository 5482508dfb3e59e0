import Type, { type Static } from 'typebox'
import { CompactJwt, DisplayName, Email, OpaqueToken, Password, PersonName, Phone, Username } from './fields.js'
import { IdCursor, Nullable, QueryNumber } from './shape-parts.js'

/** The REST shapes of accounts, sessions, tokens and users; rest.ts has the rest and re-exports these. */

/** The optional parts of a profile, each set, or cleared with null (docs/api.md, "Profiles"). */
const ProfileFields = {
  firstName: Type.Optional(PersonName),
  lastName: Type.Optional(PersonName),
  email: Type.Optional(Email),
  phone: Type.Optional(Phone),
}
export const RegisterBody = Type.Object({ username: Type.String({ maxLength: 64 }), password: Type.Optional(Password), ...ProfileFields })
export const LoginBody = Type.Object({ username: Username, password: Password })
export const PasswordBody = Type.Object({ password: Password, currentPassword: Type.Optional(Password) })
/** POST /auth/token: with username and password, or with no body and a credential. */
export const TokenBody = Type.Union([LoginBody, Type.Null()])
export const RefreshBody = Type.Object({ refresh_token: OpaqueToken })
export const RevokeBody = Type.Union([Type.Object({ refresh_token: OpaqueToken }), Type.Null()])
export const ExternalBody = Type.Object({ token: CompactJwt })

/** Public JWKs (RFC 7517), each with the members it was configured with (kty, kid, alg, use, its public key) but the private ones. */
export const JwkSet = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true, description: 'a public JWK' })) })
export const TokenReply = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
})
export const SessionList = Type.Object({
  sessions: Type.Array(
    Type.Object({
      id: Type.Integer(),
      kind: Type.String(),
      createdAt: Type.String(),
      lastSeenAt: Type.String(),
      userAgent: Nullable(Type.String()),
      current: Type.Boolean(),
    }),
  ),
})

export const UserShape = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  displayName: Nullable(Type.String()),
  firstName: Nullable(Type.String()),
  lastName: Nullable(Type.String()),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  role: Type.String(),
  disabled: Type.Boolean(),
  hasPassword: Type.Boolean(),
  external: Type.Boolean(),
  createdAt: Type.String(),
})
const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')])
const AccountName = Type.String({ maxLength: 64 })
export const ProfilePatch = Type.Object({ displayName: Type.Optional(DisplayName), ...ProfileFields }, { additionalProperties: false, minProperties: 1 })
/** What anyone signed in sees of a user (GET /api/users/:username): never the email or phone. */
export const PublicProfile = Type.Object({
  username: Type.String(),
  displayName: Nullable(Type.String()),
  firstName: Nullable(Type.String()),
  lastName: Nullable(Type.String()),
})
export const NewUser = Type.Object({
  username: AccountName,
  password: Type.Optional(Password),
  role: Type.Optional(Role),
  displayName: Type.Optional(DisplayName),
  ...ProfileFields,
})
export const UserPatch = Type.Object(
  {
    username: Type.Optional(AccountName),
    password: Type.Optional(Password),
    displayName: Type.Optional(DisplayName),
    ...ProfileFields,
    role: Type.Optional(Role),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
)
export const UsersQuery = Type.Object({ after: IdCursor, limit: QueryNumber })
export const UserList = Type.Object({ users: Type.Array(UserShape), next: Nullable(Type.String()) })

export type Tokens = Static<typeof TokenReply>
export type Session = Static<typeof SessionList>['sessions'][number]
export type User = Static<typeof UserShape>
export type Profile = Static<typeof PublicProfile>
export type ProfileChanges = Static<typeof ProfilePatch>
export type Registration = Static<typeof RegisterBody>
export type NewUserFields = Static<typeof NewUser>
export type UserChanges = Static<typeof UserPatch>
export type UserPage = Static<typeof UserList>

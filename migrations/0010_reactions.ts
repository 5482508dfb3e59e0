import { type Kysely, sql } from 'kysely'

/**
 * Emoji reactions to messages.
 *
 * - `reactions`: who reacted to which message with what, now: one row per (message, emoji, user).
 *   Message views aggregate it; the primary key makes a second identical reaction a no-op.
 * - Two new log rows, `reaction_added` and `reaction_removed`: each takes the conversation's next seq
 *   like an edit, with the emoji as its text, the message as target_seq, the reacting user as
 *   author_id, and in `reaction_count` how many users had that emoji on that message after it, so
 *   that a backfill rebuilds the event exactly as it was published.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('reactions')
    .addColumn('conversation_id', 'bigint', (c) => c.notNull())
    .addColumn('message_seq', 'bigint', (c) => c.notNull())
    .addColumn('emoji', 'text', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('reactions_pkey', ['conversation_id', 'message_seq', 'emoji', 'user_id'])
    .addForeignKeyConstraint('reactions_message_fkey', ['conversation_id', 'message_seq'], 'messages', ['conversation_id', 'seq'], (c) =>
      c.onDelete('cascade'),
    )
    .execute()

  await sql`ALTER TABLE messages DROP CONSTRAINT messages_kind_check`.execute(db)
  await sql`ALTER TABLE messages ADD CONSTRAINT messages_kind_check
            CHECK (kind IN ('message', 'tombstone', 'edit', 'member_added', 'member_removed', 'reaction_added', 'reaction_removed'))`.execute(db)
  await db.schema.alterTable('messages').addColumn('reaction_count', 'integer').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DELETE FROM messages WHERE kind IN ('reaction_added', 'reaction_removed')`.execute(db)
  await db.schema.alterTable('messages').dropColumn('reaction_count').execute()
  await sql`ALTER TABLE messages DROP CONSTRAINT messages_kind_check`.execute(db)
  await sql`ALTER TABLE messages ADD CONSTRAINT messages_kind_check
            CHECK (kind IN ('message', 'tombstone', 'edit', 'member_added', 'member_removed'))`.execute(db)
  await db.schema.dropTable('reactions').execute()
}

import pg from 'pg'

/** One event of a conversation's log as Postgres holds it: the truth the checker compares against. */
export interface StoredEvent {
  conversationId: number
  seq: number
  /** The type of the event a socket receives for this row. */
  type: string
  /** The author of a message; the member added or removed by a member event. */
  user: string | undefined
  /** A message's text; undefined for other events. */
  text: string | undefined
  /** The idempotency key the author's client gave, if any. */
  clientId: string | null
  /** When the row's transaction started (Date.now() scale: Postgres runs on this machine's clock). */
  at: number
}

const EVENT_TYPES: Record<string, string> = {
  message: 'message.created',
  tombstone: 'message.deleted',
  edit: 'message.edited',
  member_added: 'member.added',
  member_removed: 'member.removed',
}

const PAGE = 1000

/**
 * Every event of the conversations, paged from Postgres by seq straight from the database (not through
 * the nodes or their proxies), in seq order.
 */
export async function readHistory(databaseUrl: string, conversationIds: readonly number[]): Promise<Map<number, StoredEvent[]>> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const history = new Map<number, StoredEvent[]>()
    for (const conversationId of conversationIds) {
      const events: StoredEvent[] = []
      for (let after = 0; ; ) {
        const { rows } = await client.query(
          `SELECT m.seq::int8::text AS seq, m.kind, m.text, m.client_msg_id, m.deleted_at,
                  (extract(epoch FROM m.created_at) * 1000)::float8 AS at,
                  CASE WHEN m.kind IN ('member_added', 'member_removed') THEN s.username ELSE a.username END AS user
             FROM messages m
             JOIN users a ON a.id = m.author_id
             LEFT JOIN users s ON s.id = m.subject_id
            WHERE m.conversation_id = $1 AND m.seq > $2
            ORDER BY m.seq
            LIMIT ${PAGE}`,
          [conversationId, after],
        )
        for (const row of rows) {
          const type = EVENT_TYPES[row.kind] ?? `unknown kind ${row.kind}`
          events.push({
            conversationId,
            seq: Number(row.seq),
            type,
            user: row.user ?? undefined,
            text: row.kind === 'message' ? (row.deleted_at === null ? row.text : '') : undefined,
            clientId: row.client_msg_id,
            at: Number(row.at),
          })
        }
        if (rows.length < PAGE) break
        after = Number(rows[rows.length - 1].seq)
      }
      history.set(conversationId, events)
    }
    return history
  } finally {
    await client.end()
  }
}

/** The last seq of each conversation, from Postgres. */
export async function readHeads(databaseUrl: string, conversationIds: readonly number[]): Promise<Map<number, number>> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query('SELECT id, last_seq::int8::text AS last_seq FROM conversations WHERE id = ANY($1)', [conversationIds])
    return new Map(rows.map((row) => [Number(row.id), Number(row.last_seq)]))
  } finally {
    await client.end()
  }
}

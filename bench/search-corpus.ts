/**
 * The search bench's corpus: a chat log written straight into Postgres, as fast as SQL can write it.
 *
 * Words follow Zipf's law (the k-th commonest word is about 1/k as frequent), as words of real chat
 * do: first English stop words, then common chat words, then made-up words up to VOCABULARY_SIZE, so
 * that a single word of any frequency can be chosen. One message in ten holds one of PHRASES, so
 * phrases of common words occur as they do in chat. Messages are 4 to 16 words long, spread evenly
 * over the conversations and over 90 days, in time order; 1 % are deleted.
 */
import { sql } from 'kysely'
import type { Db } from '../src/storage/db.js'

const STOP_WORDS = 'the to and a i you it is of in that for on this we be have but not with are so at was just do me my if what'.split(' ')
const CHAT_WORDS = (
  'ok yes thanks good meeting today tomorrow time work code deploy review lunch call great sure think need know see ' +
  'get make go new one back like want right well also people team week day night morning issue fix test build release ' +
  'server client bug update plan'
).split(' ')
const SYLLABLES = 'ka lo mi ru te sa no vi de po ba ze fi go hu ja'.split(' ')

/** Made-up words: the syllables of `n` written in base 16, three syllables at least (kakaka, kakalo, …). */
const madeUp = (n: number) => {
  let word = ''
  for (let rest = n, digits = 0; rest > 0 || digits < 3; rest = Math.floor(rest / 16), digits++) word = SYLLABLES[rest % 16] + word
  return word
}

export const VOCABULARY_SIZE = 20_000
export const VOCABULARY = [...STOP_WORDS, ...CHAT_WORDS, ...Array.from({ length: VOCABULARY_SIZE - STOP_WORDS.length - CHAT_WORDS.length }, (_, i) => madeUp(i + 16 * 16))]

export const PHRASES = ['see you tomorrow', 'sounds good to me', 'let me know', 'code review', 'good morning', 'on my way', 'thank you so much', 'the build is broken', 'deploy to production', 'happy birthday']

export interface CorpusSize {
  messages: number
  conversations: number
  users: number
}

/** Writes users, conversations (kinds mixed), a few members each and the messages. The database must be migrated (before 0009 or after). */
export async function writeCorpus(db: Db, size: CorpusSize): Promise<void> {
  await sql`INSERT INTO users (username) SELECT 'corpus' || g FROM generate_series(1, ${size.users}) g`.execute(db)
  const { firstUser } = (await sql<{ firstUser: number }>`SELECT min(id) AS "firstUser" FROM users WHERE username LIKE 'corpus%'`.execute(db)).rows[0] as { firstUser: number }
  await sql`
    INSERT INTO conversations (title, created_by, kind)
    SELECT 'conversation ' || g, ${firstUser} + (g % ${size.users}),
           (ARRAY['private', 'private', 'private', 'open', 'open', 'public'])[1 + g % 6]
      FROM generate_series(1, ${size.conversations}) g`.execute(db)
  await sql`
    INSERT INTO memberships (conversation_id, user_id, role)
    SELECT c.id, c.created_by, 'owner' FROM conversations c
    UNION
    SELECT c.id, ${firstUser} + ((c.id * 7 + k * 13) % ${size.users}), 'member'
      FROM conversations c, generate_series(1, 4) k
     WHERE ${firstUser} + ((c.id * 7 + k * 13) % ${size.users}) <> c.created_by`.execute(db)
  await sql`CREATE TEMPORARY TABLE vocabulary (rank int PRIMARY KEY, word text NOT NULL)`.execute(db)
  await sql`INSERT INTO vocabulary SELECT ordinality, word FROM unnest(${VOCABULARY}::text[]) WITH ORDINALITY AS v(word, ordinality)`.execute(db)
  const { minConversation } = (await sql<{ minConversation: number }>`SELECT min(id) AS "minConversation" FROM conversations`.execute(db)).rows[0] as { minConversation: number }
  // Zipf: a rank drawn as floor(V^u), u uniform in [0, 1), is k with probability about 1/(k ln V).
  await sql`
    INSERT INTO messages (conversation_id, seq, kind, author_id, text, created_at)
    SELECT m.conversation_id, row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.g), 'message', m.author_id,
           m.text, now() - interval '90 days' + m.g * (interval '90 days' / ${size.messages})
      FROM (SELECT g, ${minConversation} + floor(random() * ${size.conversations})::int8 AS conversation_id,
                   ${firstUser} + floor(random() * ${size.users})::int8 AS author_id,
                   (SELECT string_agg(v.word, ' ')
                      FROM (SELECT floor(power(${VOCABULARY_SIZE}::float8, random()))::int AS rank
                              FROM generate_series(1, 4 + floor(random() * 13)::int + g * 0)) w
                      JOIN vocabulary v ON v.rank = w.rank)
                   || CASE WHEN random() < 0.1 THEN ' ' || (${PHRASES}::text[])[1 + floor(random() * ${PHRASES.length})::int] ELSE '' END AS text
              FROM generate_series(1, ${size.messages}) g) m`.execute(db)
  await sql`UPDATE messages SET deleted_at = created_at, text = '' WHERE random() < 0.01`.execute(db)
  await sql`
    UPDATE conversations c SET last_seq = s.n, last_message_seq = s.n, message_count = s.live, activity_at = s.at, last_event_at = s.at
      FROM (SELECT conversation_id, count(*) AS n, count(*) FILTER (WHERE deleted_at IS NULL) AS live, max(created_at) AS at
              FROM messages GROUP BY conversation_id) s
     WHERE c.id = s.conversation_id`.execute(db)
  await sql`VACUUM ANALYZE messages`.execute(db)
}

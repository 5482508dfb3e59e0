import { type ConversationMessage, type ReplyQuote, findMentions } from '@chat-cluster/client'
import { el, excerpt } from './dom.js'
import { type ReactionActions, drawReactions } from './reaction-bar.js'
import { messageProblem } from './validation.js'

/** What a message shows besides its text: set by the conversation view. */
export interface MessageLook {
  mine: boolean
  /** Its author is blocked: the text is hidden (docs/api.md: clients hide them). */
  blocked: boolean
  /** The last of the user's messages that the other user of a direct conversation has read. */
  seen: boolean
  mode: 'reading' | 'editing' | 'deleting'
  /** The signed-in user's name, whose mentions stand out; null when not signed in. */
  me: string | null
}

export interface MessageActions extends ReactionActions {
  setMode(seq: number, mode: MessageLook['mode']): void
  save(seq: number, text: string): Promise<string | undefined>
  remove(seq: number): void
  /** Starts a reply to this message in the composer. */
  reply(message: ConversationMessage): void
}

const timeOf = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

/** One message of the list: its author, time, text and reactions, and the user's own actions on it. */
export function drawMessage(message: ConversationMessage, look: MessageLook, actions: MessageActions): HTMLLIElement {
  const item = el(
    'li',
    { class: `message${look.mine ? ' mine' : ''}`, attrs: { 'data-seq': message.seq, 'data-mine': look.mine } },
    el(
      'p',
      { class: 'meta' },
      el('span', { class: 'author' }, message.user),
      ' ',
      el('time', { attrs: { datetime: message.timestamp, title: new Date(message.timestamp).toLocaleString() } }, timeOf(message.timestamp)),
      message.edited && el('span', { class: 'edited' }, ' (edited)'),
    ),
  )
  if (message.replyTo && !look.blocked) item.append(drawQuote(message.replyTo))
  if (look.blocked) item.append(el('p', { class: 'text muted' }, 'Hidden: you blocked this user.'))
  else if (look.mode === 'editing') item.append(editForm(message, actions))
  else item.append(el('p', { class: 'text' }, ...withMentions(message.text, look.me)))
  if (look.mode !== 'editing') item.append(drawReactions(message, actions))
  if (look.mode !== 'editing' && look.me !== null) item.append(messageActions(message, look, actions))
  if (look.seen) item.append(el('p', { class: 'receipt' }, 'Seen'))
  return item
}

/** The quote of the message a reply replies to, as it now is. */
export function drawQuote(quote: ReplyQuote): HTMLElement {
  return el(
    'blockquote',
    { class: `quote${quote.deleted ? ' deleted' : ''}` },
    el('span', { class: 'quote-author' }, quote.user),
    ' ',
    el('span', { class: 'quote-text' }, quote.deleted ? 'Deleted message' : quote.text),
  )
}

/** The text, with each mention as an element of its own (class "mention", and "me" for the user's own name). */
function withMentions(text: string, me: string | null): (string | HTMLElement)[] {
  const parts: (string | HTMLElement)[] = []
  let at = 0
  for (const { index, length, name } of findMentions(text)) {
    parts.push(text.slice(at, index))
    const mine = me !== null && name.toLowerCase() === me.toLowerCase()
    parts.push(el('span', { class: mine ? 'mention me' : 'mention' }, text.slice(index, index + length)))
    at = index + length
  }
  parts.push(text.slice(at))
  return parts.filter((part) => part !== '')
}

function messageActions(message: ConversationMessage, look: MessageLook, actions: MessageActions): HTMLElement {
  const about = `“${excerpt(message.text)}”`
  const reply = el('button', { class: 'link', attrs: { type: 'button', 'aria-label': `Reply to ${message.user}: ${about}` }, on: { click: () => actions.reply(message) } }, 'Reply')
  if (!look.mine) return el('div', { class: 'actions' }, reply)
  if (look.mode === 'deleting') {
    return el(
      'div',
      { class: 'actions', attrs: { role: 'group', 'aria-label': `Delete message ${about}?` } },
      el('span', {}, 'Delete this message? '),
      el('button', { attrs: { type: 'button' }, on: { click: () => actions.remove(message.seq) } }, 'Yes, delete'),
      el('button', { class: 'secondary', attrs: { type: 'button' }, on: { click: () => actions.setMode(message.seq, 'reading') } }, 'Keep it'),
    )
  }
  return el(
    'div',
    { class: 'actions' },
    reply,
    el('button', { class: 'link', attrs: { type: 'button', 'aria-label': `Edit message ${about}` }, on: { click: () => actions.setMode(message.seq, 'editing') } }, 'Edit'),
    el('button', { class: 'link', attrs: { type: 'button', 'aria-label': `Delete message ${about}` }, on: { click: () => actions.setMode(message.seq, 'deleting') } }, 'Delete'),
  )
}

function editForm(message: ConversationMessage, actions: MessageActions): HTMLFormElement {
  const fieldId = `edit-${message.seq}`
  const errorId = `edit-error-${message.seq}`
  const field = el('textarea', { attrs: { id: fieldId, rows: 3 } })
  field.value = message.text
  const error = el('p', { class: 'error', attrs: { id: errorId, role: 'alert' } })
  const form = el(
    'form',
    { class: 'edit', attrs: { novalidate: true } },
    el('label', { attrs: { for: fieldId } }, 'Edit message'),
    field,
    error,
    el('button', { attrs: { type: 'submit' } }, 'Save'),
    el('button', { class: 'secondary', attrs: { type: 'button' }, on: { click: () => actions.setMode(message.seq, 'reading') } }, 'Cancel'),
  )
  const fail = (problem: string) => {
    error.textContent = problem
    field.setAttribute('aria-invalid', 'true')
    field.setAttribute('aria-errormessage', errorId)
    field.focus()
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const problem = messageProblem(field.value)
    if (problem) return fail(problem)
    void actions.save(message.seq, field.value).then((refused) => refused && fail(refused))
  })
  field.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') actions.setMode(message.seq, 'reading')
    else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      form.requestSubmit()
    }
  })
  return form
}

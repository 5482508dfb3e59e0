import type { ChatClient } from '@chat-cluster/client'
import { byId, count } from './dom.js'
import type { Open } from './conversation-forms.js'
import { announce, explain, showError } from './status.js'

/**
 * Invite links in the web client: an invite is opened at `/#/invite/<token>`. The owner of a
 * conversation makes one with the "Invite link" button of the conversation view (InviteButton); a
 * person who opens one sees the conversation's title and member count, signs in if need be, and
 * joins (InviteLanding).
 */

const INVITE_HASH = /^#\/invite\/([A-Za-z0-9_-]{1,100})$/

/** The token of the invite the page was opened at, if it was. */
export function invitedWith(): string | undefined {
  return INVITE_HASH.exec(location.hash)?.[1]
}

const inviteLink = (token: string) => `${location.origin}/#/invite/${token}`
const members = (n: number) => `${count(n)} ${n === 1 ? 'member' : 'members'}`

/** For someone not signed in: what the invite they opened is to, to tell them on the sign-in screen. */
export async function invitationNotice(client: ChatClient, token: string): Promise<string> {
  try {
    const { title, members: n } = await client.api.invitePreview(token)
    return `You are invited to join “${title}” (${members(n)}). Sign in or register, then join.`
  } catch (err) {
    return `This invite link cannot be used: ${explain(err, { 404: 'it does not exist, or was revoked.', 410: 'it has expired or been used up.' })}`
  }
}

/** The invite the page was opened at, for a signed-in user: its conversation's title and member count, and a button to join. */
export class InviteLanding {
  private readonly section = byId('invite-page', HTMLElement)
  private token: string | undefined
  private title = ''

  constructor(
    private readonly client: ChatClient,
    private readonly open: Open,
    signal: AbortSignal,
  ) {
    byId('invite-join', HTMLButtonElement).addEventListener('click', () => void this.join(), { signal })
    byId('invite-dismiss', HTMLButtonElement).addEventListener('click', () => this.close(), { signal })
    window.addEventListener('hashchange', () => void this.show(), { signal })
    signal.addEventListener('abort', () => (this.section.hidden = true))
  }

  /** Shows the invite of the page's address, if it has one. */
  async show(): Promise<void> {
    this.token = invitedWith()
    if (!this.token) return
    showError('invite-error', undefined)
    byId('invite-join', HTMLButtonElement).hidden = false
    this.section.hidden = false
    const about = byId('invite-about', HTMLParagraphElement)
    try {
      const preview = await this.client.api.invitePreview(this.token)
      this.title = preview.title
      about.textContent = `“${preview.title}”, ${members(preview.members)}.`
      byId('invite-join', HTMLButtonElement).focus()
    } catch (err) {
      about.textContent = ''
      this.refused(err)
    }
  }

  private async join(): Promise<void> {
    if (!this.token) return
    try {
      const { conversationId, created } = await this.client.api.acceptInvite(this.token)
      this.close()
      announce(created ? `You joined “${this.title}”.` : `You are a member of “${this.title}” already.`)
      this.open(conversationId, this.title)
    } catch (err) {
      this.refused(err)
    }
  }

  private refused(err: unknown): void {
    byId('invite-join', HTMLButtonElement).hidden = true
    showError('invite-error', explain(err, { 403: 'A block stands between you and the owner of this conversation.', 404: 'This invite does not exist, or was revoked.', 410: 'This invite has expired or been used up.' }))
  }

  private close(): void {
    this.section.hidden = true
    this.token = undefined
    history.replaceState(null, '', location.pathname + location.search)
  }
}

/** The "Invite link" button of a conversation view: shown to its owner (of any kind but direct), it makes a link and shows it. */
export class InviteButton {
  private readonly button = byId('invite-button', HTMLButtonElement)
  private readonly share = byId('invite-share', HTMLDivElement)
  private readonly field = byId('invite-url', HTMLInputElement)
  private checked = false

  constructor(
    private readonly client: ChatClient,
    private readonly conversationId: number,
    signal: AbortSignal,
  ) {
    this.hide()
    this.button.addEventListener('click', () => void this.create(), { signal })
    signal.addEventListener('abort', () => this.hide())
  }

  /** Once the conversation's kind is known: only its owner may list its invites, so a list that comes back shows the button. */
  async update(kind: string | undefined): Promise<void> {
    if (this.checked || kind === undefined) return
    this.checked = true
    if (kind === 'direct') return
    try {
      await this.client.api.invites(this.conversationId)
      this.button.hidden = false
    } catch {
      // Not the owner: no button.
    }
  }

  private async create(): Promise<void> {
    try {
      const { token } = await this.client.api.createInvite(this.conversationId)
      this.field.value = inviteLink(token)
      this.share.hidden = false
      this.field.select()
      announce('Invite link made: anyone with it can join.')
    } catch (err) {
      announce(`No invite link: ${explain(err)}`)
    }
  }

  private hide(): void {
    this.button.hidden = true
    this.share.hidden = true
    this.field.value = ''
  }
}

import type { ChatClient, ProfileChanges, User } from '@chat-cluster/client'
import { byId, whileBusy } from './dom.js'
import { announce, explain, showError } from './status.js'

/** The fields of the profile form, by the profile field each one sets. */
const FIELDS = {
  displayName: 'profile-display-name',
  firstName: 'profile-first-name',
  lastName: 'profile-last-name',
  email: 'profile-email',
  phone: 'profile-phone',
} as const satisfies Record<keyof ProfileChanges, string>

/**
 * The signed-in user's profile: display name, first and last name, email and phone (docs/api.md,
 * "Profiles"). An empty field clears its value; the server checks the formats and says what is wrong.
 * It cannot be saved until it shows the profile: saved empty, it would clear every field.
 */
export class ProfilePanel {
  private readonly form = byId('profile', HTMLFormElement)
  private readonly saveButton = byId('profile-save', HTMLButtonElement)

  constructor(
    private readonly client: ChatClient,
    signal: AbortSignal,
  ) {
    this.form.addEventListener('submit', (event) => (event.preventDefault(), void this.save()), { signal })
    signal.addEventListener('abort', () => this.form.reset())
    this.saveButton.disabled = true
  }

  async load(): Promise<void> {
    this.show(await this.client.api.me())
    this.saveButton.disabled = false
  }

  private show(user: User): void {
    for (const [name, id] of Object.entries(FIELDS)) byId(id, HTMLInputElement).value = user[name as keyof typeof FIELDS] ?? ''
  }

  private async save(): Promise<void> {
    const changes: ProfileChanges = {}
    for (const [name, id] of Object.entries(FIELDS)) changes[name as keyof typeof FIELDS] = byId(id, HTMLInputElement).value.trim() || null
    showError('profile-error', undefined)
    try {
      this.show(await whileBusy(this.form, () => this.client.api.updateProfile(changes)))
      announce('Profile saved.')
    } catch (err) {
      showError('profile-error', explain(err, { 409: 'That email belongs to another account.' }))
    }
  }
}

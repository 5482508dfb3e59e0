import type { UserNotice } from '../protocol/envelopes.js'
import { Groups } from './groups.js'
import type { HubMeter } from './meter.js'

/** A local socket as the hub sees it. */
export interface Subscriber {
  /** The socket's user; undefined for someone not logged in. */
  readonly userId: number | undefined
  /** Writes a ready-made frame; the socket may close itself instead when it cannot keep up. */
  send(frame: Buffer): void
  /**
   * Writes a frame of the server's own backfill and resolves once it has left this process (true),
   * or once the socket has closed (false). Backfill goes one frame at a time this way, so it never
   * piles up in a socket that reads slowly, and never counts against the slow-consumer bound.
   */
  sendBackfill(frame: Buffer): Promise<boolean>
}

/** Every logged-in socket of this node, by user: where notices go. */
export class UserSockets {
  private readonly byUser = new Groups<number, Subscriber>()

  constructor(private readonly meter: HubMeter | undefined) {}

  add(subscriber: Subscriber & { userId: number }): void {
    this.byUser.add(subscriber.userId, subscriber)
  }

  remove(subscriber: Subscriber): void {
    if (subscriber.userId !== undefined) this.byUser.delete(subscriber.userId, subscriber)
  }

  /** Writes a notice, serialised once, to every socket of its users on this node. */
  notify(notice: UserNotice): void {
    let frame: Buffer | undefined
    let sockets = 0
    for (const userId of notice.userIds) {
      for (const subscriber of this.byUser.get(userId)) {
        subscriber.send((frame ??= Buffer.from(notice.json)))
        sockets++
      }
    }
    if (frame) this.meter?.wrote('notice', [frame], sockets)
  }
}

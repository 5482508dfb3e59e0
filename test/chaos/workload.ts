import { createConversation, register } from '../helpers/http-client.js'
import { type Transport, type WriteLoad, ChaosClient } from './client.js'
import type { ChaosCluster } from './cluster.js'

export interface WorkloadShape {
  /** Conversations that writers post to for the whole run. */
  busyConversations: number
  /** One more conversation, read by every reader and written to only by what a fault posts. */
  quietConversation: boolean
  /** Readers start on each node, each reading every conversation. */
  readersPerNode: number
  /** Writers per busy conversation, spread over the nodes, over a socket and REST in turn. */
  writersPerConversation: number
  writeIntervalMs: number
  textChars: number
}

export const DEFAULT_SHAPE: WorkloadShape = {
  busyConversations: 2,
  quietConversation: false,
  readersPerNode: 2,
  writersPerConversation: 3,
  writeIntervalMs: 50,
  textChars: 200,
}

export interface NewClient {
  /** Names the user and starts each of its message ids. */
  role: string
  reads: readonly number[]
  write?: WriteLoad
  /** Its writes start when the scenario says, not with the load. */
  writesOnCue?: boolean
  home: number
  /** The URLs it reaches the nodes by; the nodes' own by default. */
  nodes?: readonly string[]
}

/**
 * The clients of one scenario and the conversations they use. Every client is a user of its own, with
 * a session cookie, following the documented client behaviour (client.ts).
 */
export class Workload {
  readonly clients: ChaosClient[] = []
  /** The writers that start with the load. */
  private readonly loadWriters: ChaosClient[] = []
  private users = 0

  private constructor(
    private readonly cluster: ChaosCluster,
    readonly shape: WorkloadShape,
    readonly busy: number[],
    readonly quiet: number | undefined,
    readonly deadline: number,
  ) {}

  /** Creates the conversations, the readers (live before this resolves) and the writers (not writing yet). */
  static async create(cluster: ChaosCluster, shape: WorkloadShape, deadline: number): Promise<Workload> {
    const [first] = cluster.urls as [string]
    const owner = await register(first, 'owner')
    const busy: number[] = []
    for (let i = 0; i < shape.busyConversations; i++) busy.push((await createConversation(first, owner.cookie, `busy ${i + 1}`)).id)
    const quiet = shape.quietConversation ? (await createConversation(first, owner.cookie, 'quiet')).id : undefined
    const workload = new Workload(cluster, shape, busy, quiet, deadline)
    const size = cluster.nodes.length
    const clients: NewClient[] = []
    for (let i = 0; i < shape.readersPerNode * size; i++) clients.push({ role: 'reader', reads: workload.conversations, home: i % size })
    for (const conversationId of busy) {
      for (let i = 0; i < shape.writersPerConversation; i++) {
        const transport: Transport = i % 2 === 0 ? 'ws' : 'rest'
        clients.push({ role: 'writer', reads: [], home: i % size, write: workload.load(conversationId, transport) })
      }
    }
    await Promise.all(clients.map((client) => workload.add(client)))
    return workload
  }

  /** Every conversation read: the busy ones and the quiet one. */
  get conversations(): number[] {
    return this.quiet === undefined ? this.busy : [...this.busy, this.quiet]
  }

  get readers(): ChaosClient[] {
    return this.clients.filter((client) => client.options.reads.length > 0)
  }

  get writers(): ChaosClient[] {
    return this.clients.filter((client) => client.options.write !== undefined)
  }

  /** The shape's write load on one conversation. */
  load(conversationId: number, transport: Transport, overrides: Partial<WriteLoad> = {}): WriteLoad {
    return { conversationId, transport, intervalMs: this.shape.writeIntervalMs, textChars: this.shape.textChars, ...overrides }
  }

  /** Registers a user for a new client and opens its socket (live before this resolves). It writes once startWriting() is called. */
  async add(spec: NewClient): Promise<ChaosClient> {
    const name = `${spec.role}${++this.users}`
    const { cookie } = await register(this.cluster.urls[0] as string, name)
    const client = new ChaosClient({
      name,
      cookie,
      nodes: spec.nodes ?? this.cluster.urls,
      home: spec.home,
      reads: spec.reads,
      ...(spec.write ? { write: spec.write } : {}),
      deadline: this.deadline,
    })
    this.clients.push(client)
    if (spec.write && !spec.writesOnCue) this.loadWriters.push(client)
    await client.startSocket()
    return client
  }

  /** The load starts: every writer but those that write on the scenario's cue. */
  startWriting(): void {
    for (const client of this.loadWriters) client.startWriting()
  }

  /** Writers post no new message; resolves once every message in flight is acknowledged, or given up on after `limitMs`. */
  async stopWriting(limitMs: number): Promise<void> {
    await Promise.all(this.writers.map((client) => client.stopWriting(limitMs)))
  }
}

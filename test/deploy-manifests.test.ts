import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { loadConfig } from '../src/config.js'
import { startNode } from './helpers/in-process.js'
import { testSigningJwk } from './helpers/node-env.js'

/** The deployment files, read as the tools that use them would: every manifest parsed, its essentials checked. */

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const k8sDir = join(root, 'deploy/k8s')
const text = (file: string) => readFileSync(join(root, file), 'utf8')

type Manifest = { kind: string; metadata: { name: string }; spec: any; data?: Record<string, string>; stringData?: Record<string, string> }
const manifests: Manifest[] = readdirSync(k8sDir)
  .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  .flatMap((file) => parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((doc) => doc.toJS() as Manifest))
const one = (kind: string) => {
  const found = manifests.filter((m) => m.kind === kind)
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`)
  return found[0] as Manifest
}

const deployment = one('Deployment')
const pod = deployment.spec.template.spec
const container = pod.containers[0]
const settings = one('ConfigMap').data as Record<string, string>

t.test('kustomization lists every manifest but the migration job, which runs on its own', async (t) => {
  const { resources } = parse(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')) as { resources: string[] }
  const files = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  t.same([...resources].sort(), files.filter((f) => f !== 'migration-job.yaml').sort())
  t.same(manifests.map((m) => m.kind).sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Job', 'PodDisruptionBudget', 'Secret', 'Service'])
})

t.test('the settings the nodes get are valid, with the signing keys from the Secret', async (t) => {
  const secret = one('Secret').stringData as Record<string, string>
  t.ok('JWT_KEYS' in secret && 'DATABASE_URL' in secret, 'the Secret holds the signing keys and the database URL')
  t.throws(() => loadConfig({ ...settings, ...secret }), { name: 'ConfigError', message: /JWT_KEYS/ }, 'its placeholder stops a node')
  const keys = JSON.stringify([await testSigningJwk()])
  const config = loadConfig({ ...settings, ...secret, JWT_KEYS: keys })
  t.equal(config.migrateOnStart, false, 'the nodes leave migrating to the job')
  t.same(config.trustProxy, ['10.0.0.0/8'], 'a list of proxies, never every hop')
  t.equal(config.cookieSecure, true)
  t.same(container.envFrom, [{ configMapRef: { name: 'chat-config' } }, { secretRef: { name: 'chat-secrets' } }])
})

t.test('probes, the drain and resources fit the node', async (t) => {
  const http = container.ports.find((p: { name: string }) => p.name === 'http')
  t.equal(http.containerPort, 3000, 'the image listens on 3000')
  t.match(container.readinessProbe, { httpGet: { path: '/readyz', port: 'http' } })
  t.match(container.livenessProbe, { httpGet: { path: '/healthz', port: 'http' } })
  t.match(container.startupProbe, { httpGet: { path: '/healthz', port: 'http' } })
  const [sleep, seconds] = container.lifecycle.preStop.exec.command as [string, string]
  t.equal(sleep, 'sleep')
  const preStopSeconds = Number(seconds)
  t.ok(preStopSeconds >= 1, 'a preStop hook lets the proxies drop the endpoint before SIGTERM')
  const config = loadConfig(settings)
  const readinessNoticedMs = container.readinessProbe.periodSeconds * container.readinessProbe.failureThreshold * 1000
  t.ok(preStopSeconds * 1000 + config.shutdownDrainMs >= readinessNoticedMs, 'the endpoint is gone before the first socket closes')
  t.ok(pod.terminationGracePeriodSeconds * 1000 > preStopSeconds * 1000 + config.shutdownGraceMs, 'the grace covers the preStop and the whole drain')
  t.match(container.resources, { requests: { cpu: String, memory: String }, limits: { memory: String } })
  t.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0, 'a rollout never lowers capacity')
})

t.test('the probe paths answer on a real node', async (t) => {
  const { url } = await startNode(t, 'manifests')
  for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
    t.equal((await fetch(`${url}${probe.httpGet.path}`)).status, 200, probe.httpGet.path)
  }
})

t.test('metrics are scraped from their own port, which the Service does not expose', async (t) => {
  const metrics = container.ports.find((p: { name: string }) => p.name === 'metrics')
  t.equal(loadConfig(settings).metrics.port, metrics.containerPort, 'the node serves /metrics on the port the pod declares')
  t.equal(deployment.spec.template.metadata.annotations['prometheus.io/port'], settings.METRICS_PORT)
  t.same(one('Service').spec.ports.map((p: { targetPort: string }) => p.targetPort), ['http'])
})

t.test('Service, autoscaler and disruption budget select the Deployment', async (t) => {
  const labels = deployment.spec.template.metadata.labels
  t.same(deployment.spec.selector.matchLabels, labels)
  t.same(one('Service').spec.selector, labels)
  t.same(one('PodDisruptionBudget').spec.selector.matchLabels, labels)
  t.equal(one('PodDisruptionBudget').spec.maxUnavailable, 1)
  const hpa = one('HorizontalPodAutoscaler').spec
  t.match(hpa.scaleTargetRef, { kind: 'Deployment', name: deployment.metadata.name })
  t.ok(hpa.minReplicas >= 2 && hpa.maxReplicas > hpa.minReplicas)
})

t.test('the migration job runs the compiled migrate entry of the same image, as the same user', async (t) => {
  const job = one('Job').spec.template.spec
  const [migrate] = job.containers
  t.equal(migrate.image, container.image)
  t.same(migrate.command.slice(-1), ['dist/src/migrate.js'])
  t.ok(existsSync(join(root, 'src/migrate.ts')), 'built from src/migrate.ts')
  t.equal(job.restartPolicy, 'Never')
  t.same(migrate.envFrom, container.envFrom)
  t.match(text('deploy/Dockerfile'), /^USER node$/m, 'the image runs as node (uid 1000 in the official images)')
  t.equal(pod.securityContext.runAsUser, 1000)
  t.equal(job.securityContext.runAsUser, 1000)
})

t.test('docker compose trusts HAProxy only, and HAProxy appends the address it saw', async (t) => {
  const compose = parse(text('docker-compose.yml'), { merge: true })
  const haproxyAddress = compose.services.haproxy.networks.chat.ipv4_address
  for (const name of ['node1', 'node2', 'node3']) t.equal(compose.services[name].environment.TRUST_PROXY, haproxyAddress, name)
  const haproxy = text('deploy/haproxy.cfg')
  t.match(haproxy, /^\s*option forwardfor\b/m)
  t.match(haproxy, /^\s*http-request del-header X-Forwarded-For\b/m, 'what a client wrote there is dropped at the edge')
  t.match(text('deploy/Dockerfile'), /^FROM node:24/m)
  t.match(text('deploy/Dockerfile'), /npm ci --omit=dev --omit=optional /, 'the image leaves out the embedded Postgres, which it never runs')
  t.match(text('deploy/Dockerfile'), /^CMD \["node", "--enable-source-maps", "dist\/src\/server.js"\]$/m)
})

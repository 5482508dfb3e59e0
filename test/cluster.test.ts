import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { testClusterBehaviour } from './helpers/cluster-behaviour.js'

// Three real node processes, started together against a database that does not exist yet: they race
// to create it and to migrate it, as replicas do when a deployment first comes up.
const nodes = await startCluster(t, 'cluster', 3)
testClusterBehaviour(t, nodes)

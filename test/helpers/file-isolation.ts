/**
 * Vitest setup file: what a test file leaves in its worker process is undone when the file ends, so the next file
 * in the same worker starts as it would in a fresh process. The suite runs with `isolate: false` (vitest.config.ts):
 * a worker keeps its modules loaded from one file to the next instead of starting a new process and loading
 * everything again for each file. Measured on the 2-core machine (load 9–13), the 41 files of test/commands,
 * test/runbooks, test/emulator/services and test/catalog, runs interleaved: 190–221 s wall and 118–121 s CPU with a
 * process per file, 120–124 s wall and 78–83 s CPU without (2 worker processes instead of 41); test/integration
 * without its four longest files plus test/emulator/services (20 files, load 5): 94 → 77 s wall, 114 → 71 s CPU;
 * checks, ci, evidence, azure, actions, contract, emulator without services and az (68 files, load 7–9): 154 → 98 s
 * wall, 133 → 76 s CPU.
 *
 * Undone at the end of every file: environment variables set, changed or deleted (a CLI run in the test process sets
 * IDENTITY_ENDPOINT for the emulator it talks to), the working directory, process.exitCode, listeners added to
 * process signals (handlers of interrupted runs), and MSAL's managed-identity state, which is static
 * — shared by every ManagedIdentityCredential in the process: the token source (with the IDENTITY_ENDPOINT it read
 * first) and the token cache. Left as they are, the next file's emulator would be asked at an endpoint that no
 * longer answers, or handed a token signed by an emulator that no longer runs.
 *
 * Then a file fails if it left something running that the next files would inherit: a server, socket, timer or child
 * process beyond what the worker had when the file started, still there 15 s after the file ended (./leaks.ts says
 * how it is seen and why the verdict on what is still closing comes at a later file's end). The message names the file
 * and the kinds; the fix is in that file, not here.
 */
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, relative} from 'node:path'
import {randomUUID} from 'node:crypto'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, expect} from 'vitest'
import {removeScratchDirs} from './cli.js'
import {checkFileEnd, FILE_MARK_ENV, snapshot, trackTimers, type Snapshot} from './leaks.js'

const PROCESS_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const

const env = {...process.env}
const cwd = process.cwd()
const exitCode = process.exitCode
const listeners = new Map(PROCESS_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]))
// Inherited by what the file spawns (after `env` was copied: the reset below removes it).
const mark = randomUUID()
trackTimers()
process.env[FILE_MARK_ENV] = mark
let before: Snapshot
// Once the file's modules are imported: a module that keeps a server or timer for the whole process (loaded once per
// worker with isolate: false) is not counted against the first file that happens to import it.
beforeAll(() => {
  before = snapshot()
})

afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key]
  for (const [key, value] of Object.entries(env)) if (process.env[key] !== value) process.env[key] = value
  if (process.cwd() !== cwd) process.chdir(cwd)
  process.exitCode = exitCode
  for (const [event, before] of listeners)
    for (const listener of process.listeners(event as NodeJS.Signals)) if (!before.has(listener)) process.off(event, listener)
  await resetManagedIdentityTokenCache()
  const file = relative(cwd, expect.getState().testPath ?? '?')
  let leaks: string[]
  try {
    leaks = before ? await checkFileEnd(before, mark, file) : []
  } finally {
    removeScratchDirs()
  }
  if (leaks.length > 0)
    throw new Error(`${leaks.join('; ')}: the next test files in this worker inherit it. Stop or close it in that file's afterAll/afterEach (see test/helpers/leaks.ts).`)
})

/**
 * msal-node (the one @azure/identity loads) keeps, for the whole process, the managed-identity source it detected
 * from the environment (ManagedIdentityClient.identitySource / sourceName) and the tokens it got
 * (ManagedIdentityApplication.nodeStorage). ManagedIdentityClient is not exported: it is loaded by the URL msal's own
 * index imports it from, which is the same module instance.
 */
async function resetManagedIdentityTokenCache(): Promise<void> {
  const fromIdentity = createRequire(createRequire(import.meta.url).resolve('@azure/identity'))
  const msalDist = join(dirname(fromIdentity.resolve('@azure/msal-node/package.json')), 'dist')
  const {ManagedIdentityApplication} = (await import(pathToFileURL(join(msalDist, 'index.mjs')).href)) as {ManagedIdentityApplication: object}
  const {ManagedIdentityClient} = (await import(pathToFileURL(join(msalDist, 'client', 'ManagedIdentityClient.mjs')).href)) as {ManagedIdentityClient: object}
  if (!ManagedIdentityApplication || !ManagedIdentityClient) throw new Error(`msal-node at ${msalDist} has no ManagedIdentityApplication/ManagedIdentityClient: update ${import.meta.filename}`)
  // The statics are assigned on first use (not declared), so their names are checked in msal's code: a renamed one
  // would make the reset a silent no-op and the next file's emulator be asked at a dead endpoint.
  const sources = ['index.mjs', 'client/ManagedIdentityApplication.mjs', 'client/ManagedIdentityClient.mjs'].map((f) => readFileSync(join(msalDist, f), 'utf8')).join('\n')
  for (const name of ['ManagedIdentityApplication.nodeStorage', 'ManagedIdentityClient.identitySource', 'ManagedIdentityClient.sourceName'])
    if (!sources.includes(name)) throw new Error(`msal-node at ${msalDist} no longer uses ${name}: update ${import.meta.filename}`)
  Object.assign(ManagedIdentityApplication, {nodeStorage: undefined})
  Object.assign(ManagedIdentityClient, {identitySource: undefined, sourceName: undefined})
}

import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, copyFileSync} from 'node:fs'
import {get as httpGet} from 'node:http'
import {get} from 'node:https'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {AZURITE_ACCOUNT, AZURITE_KEY} from '../../../src/emulator/blob.js'
import {connectOrStartEmulator} from '../../../src/emulator/connect.js'
import {SCHEDULE_SOURCE} from '../../../src/emulator/engines/redis-dataplane.js'
import {runCliInProcess} from '../../helpers/cli.js'

const BIN = resolve('bin/run.js')

describe('opsbook emulator start', () => {
  it('prints the endpoint and CA file, and serves a seeded server over https trusted with that CA', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'opsbook-emu-cli-'))
    copyFileSync('runbooks.yaml', join(cwd, 'runbooks.yaml'))
    const child = spawn(process.execPath, [BIN, 'emulator', 'start', '--port', '0'], {cwd, env: {...process.env, OPSBOOK_EMULATOR_URL: ''}})
    try {
      let output = ''
      const printed = await new Promise<{endpoint: string; caFile: string; recipe: string[]}>((done, fail) => {
        child.stdout.on('data', (chunk) => {
          output += chunk
          const endpoint = /ARM endpoint:\s+(\S+)/.exec(output)?.[1]
          const caFile = /CA file:\s+(\S+)/.exec(output)?.[1]
          // The recipe: the indented lines after "Try …:", complete once the line with the ARM request is printed.
          const recipe = /^Try .*:\n((?: {2}.*\n)+)/m.exec(output)?.[1]?.split('\n').filter(Boolean).map((line) => line.slice(2))
          if (endpoint && caFile && recipe?.some((line) => line.includes('api-version=2025-08-01'))) done({endpoint, caFile, recipe})
        })
        child.stderr.on('data', (chunk) => (output += chunk))
        child.on('exit', (code) => fail(new Error(`emulator exited with ${code}: ${output}`)))
      })
      expect(printed.caFile).toBe(join(cwd, '.opsbook', 'emulator', 'certs', 'cert.pem'))
      expect(output).toContain('export NODE_EXTRA_CA_CERTS=')
      // Says whether the caches are real redis-server processes (installed here and in CI) or modelled.
      expect(output).toMatch(/Redis data plane: +redis-server 7\.\d+\.\d+, one per cache/)
      // Exactly the printed commands, in a shell, as a user pastes them: the exports, a token, then the ARM request.
      expect(printed.recipe).toHaveLength(2)
      const exports = output.split('\n').filter((line) => /^ {2}export /.test(line)).map((line) => line.trim())
      expect(exports.join('\n')).toContain('export IDENTITY_HEADER=')
      // The identity header's value is printed once, in the exports; the recipe refers to it.
      const headerValue = /export IDENTITY_HEADER=(\S+)/.exec(output)![1]!
      expect(output.split(headerValue)).toHaveLength(2)
      const shell = spawnSync('bash', ['-o', 'pipefail', '-ec', [...exports, ...printed.recipe].join('\n')], {cwd, encoding: 'utf8', timeout: 60_000})
      expect(shell.stderr).toBe('')
      expect(shell.status).toBe(0)
      const body = JSON.parse(shell.stdout)
      expect(body.name).toBe('pg-shop-orders')
      expect(body.properties.backup.backupRetentionDays).toBe(14)
      // The second line alone (no token) is refused as ARM refuses it: the first line is needed.
      const bare = spawnSync('bash', ['-ec', printed.recipe[1]!.replace(/ -H "Authorization: Bearer \$TOKEN"/, '')], {cwd, encoding: 'utf8', timeout: 60_000})
      expect(JSON.parse(bare.stdout).error.code).toBe('AuthenticationFailed')
    } finally {
      const exited = new Promise((done) => child.once('exit', done))
      child.kill('SIGINT')
      await exited
      rmSync(cwd, {recursive: true, force: true})
    }
  })

  it('prints one JSON document with the endpoints at startup under --json, serves runs and refuses a reset while running', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'opsbook-emu-cli-'))
    copyFileSync('runbooks.yaml', join(cwd, 'runbooks.yaml'))
    const child = spawn(process.execPath, [BIN, 'emulator', 'start', '--port', '0', '--json'], {cwd, env: {...process.env, OPSBOOK_EMULATOR_URL: ''}})
    // 'close', not 'exit': stdout is complete then, so nothing printed at exit can slip past the check below.
    const exited = new Promise<number | null>((done) => child.once('close', done))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    try {
      // The document arrives while the emulator runs: no Ctrl-C needed to learn a random port.
      const doc = await new Promise<any>((done, fail) => {
        child.stdout.on('data', () => {
          try {
            done(JSON.parse(stdout))
          } catch {
            // not complete yet
          }
        })
        void exited.then((code) => fail(new Error(`emulator exited with ${code}: ${stdout}${stderr}`)))
      })
      expect(doc.armEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      expect(doc.caFile).toBe(join(cwd, '.opsbook', 'emulator', 'certs', 'cert.pem'))
      expect(doc.env).toMatchObject({OPSBOOK_EMULATOR_URL: doc.armEndpoint, OPSBOOK_EMULATOR_CA: doc.caFile, IDENTITY_ENDPOINT: doc.identityEndpoint})
      const ca = readFileSync(doc.caFile, 'utf8')
      // A token from the token endpoint the document names (IDENTITY_ENDPOINT/IDENTITY_HEADER), then ARM.
      const token = await new Promise<string>((done, fail) =>
        httpGet(`${doc.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://management.azure.com/`, {headers: {'X-IDENTITY-HEADER': doc.env.IDENTITY_HEADER}}, (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () => done(JSON.parse(text).access_token))
        }).on('error', fail),
      )
      const body = await new Promise<any>((done, fail) =>
        get(`${doc.armEndpoint}/subscriptions/${doc.subscription}/resourceGroups?api-version=2021-04-01`, {ca, headers: {authorization: `Bearer ${token}`}}, (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () => done({status: res.statusCode, json: JSON.parse(text)}))
        }).on('error', fail),
      )
      expect(body.status).toBe(200)
      expect(body.json.value.map((g: {name: string}) => g.name)).toContain('rg-shop-local')

      // A run in this project (another process) uses it rather than starting its own.
      const run = await connectOrStartEmulator({cwd, environmentName: 'local', env: {}})
      expect(run.armEndpoint).toBe(doc.armEndpoint)
      await run.stop()

      // `emulator reset` is not the process under test here: in-process (runCliInProcess), no CLI start-up.
      const reset = await runCliInProcess(['emulator', 'reset', '--json'], {cwd, env: {OPSBOOK_EMULATOR_URL: ''}})
      expect(reset.code).toBe(5)
      expect(JSON.parse(reset.stdout).error.message).toContain(`pid ${child.pid}`)
      expect(existsSync(join(cwd, '.opsbook', 'emulator', 'state.json'))).toBe(true)

      // The cache's scheduled snapshot, read from the served Blob store: the catch-up due at start is there when looked
      // for (taken then: it starts the cache's redis-server).
      const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
      const snapshots = new BlobServiceClient(doc.env.OPSBOOK_EMULATOR_BLOB, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)).getContainerClient('redis-snapshots')
      const scheduled: string[] = []
      for await (const b of snapshots.listBlobsFlat({includeMetadata: true})) if (b.metadata?.source === SCHEDULE_SOURCE) scheduled.push(b.name)
      expect(scheduled).toEqual([expect.stringMatching(/^redis-shop-sessions-\d{8}T\d{6}Z\.rdb$/)])
    } finally {
      const printed = stdout
      child.kill('SIGINT')
      expect(await exited).toBe(0)
      expect(stdout).toBe(printed)
    }
    expect(existsSync(join(cwd, '.opsbook', 'emulator', 'emulator.lock'))).toBe(false)
    // The cache's redis-server (started for its scheduled snapshot, looked at above) stopped with the emulator.
    const engines = join(cwd, '.opsbook', 'emulator', 'engines')
    expect(existsSync(engines)).toBe(true)
    expect(spawnSync('pgrep', ['-f', engines]).status).toBe(1)
    const reset = await runCliInProcess(['emulator', 'reset', '--json'], {cwd, env: {OPSBOOK_EMULATOR_URL: ''}})
    expect(reset.code).toBe(0)
    expect(JSON.parse(reset.stdout).removed).toContain(join(cwd, '.opsbook', 'emulator', 'state.json'))
    expect(JSON.parse(reset.stdout).removed).toContain(engines)
    rmSync(cwd, {recursive: true, force: true})
  })
})

import {copyFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {unzipSync, zipSync} from 'fflate'
import {beforeAll, describe, expect, it} from 'vitest'
import {runCliInProcess} from '../../helpers/cli.js'
import {tempDir} from '../../evidence/blob-helpers.js'
import {writeDrillOfEveryLeg, writeHistory, type HistoryRun} from '../../evidence/history.js'

/** The CLI as a user runs it (in the test process: no process start), with no emulator or catalog from the environment. */
const opsbook = (cwd: string, args: string[]) => runCliInProcess(args, {cwd, env: {OPSBOOK_EMULATOR_URL: '', OPSBOOK_CATALOG: ''}})

describe('opsbook evidence export | verify | sync', () => {
  const cwd = tempDir('opsbook-evidence-cli-')
  let runs: HistoryRun[]
  beforeAll(async () => {
    copyFileSync('runbooks.yaml', join(cwd, 'runbooks.yaml'))
    runs = [...(await writeHistory(join(cwd, '.opsbook'))), await writeDrillOfEveryLeg(join(cwd, '.opsbook'))]
  })

  it('exports a bundle that verifies, and names the line when a journal byte changes (exit 1)', async () => {
    const exported = await opsbook(cwd, ['evidence', 'export', '--env', 'local', '--until', '2026-11-23', '--output', 'bundle.zip', '--json'])
    expect(exported.stderr).toBe('')
    expect(exported.code).toBe(0)
    const result = JSON.parse(exported.stdout)
    expect(result).toMatchObject({runs: 7, format: 'zip', output: join(cwd, 'bundle.zip')})
    // The drill of 2026-11-16 has a row for every component (the Cosmos DB, web app and failover legs among them): each
    // met row covers its component although the drill failed — only the cache, which missed its RTO again, is a gap.
    expect(result.coverageGaps).toEqual(['sessions-cache'])

    const ok = await opsbook(cwd, ['evidence', 'verify', 'bundle.zip'])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain('✔ bundle bundle.zip verified')

    const files = unzipSync(readFileSync(join(cwd, 'bundle.zip')))
    const path = `runs/${runs[0]!.runId}/journal.jsonl`
    const text = Buffer.from(files[path]!).toString('utf8').replace('"attempt":1', '"attempt":2')
    writeFileSync(join(cwd, 'tampered.zip'), zipSync({...files, [path]: Buffer.from(text)}))
    const bad = await opsbook(cwd, ['evidence', 'verify', 'tampered.zip'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain(`verification failed: ${path} line 2: content does not match the hash recorded by line 3`)
  })

  it('syncs local runs to the emulator\'s evidence container, after which each run verifies against its blob copy', async () => {
    const synced = await opsbook(cwd, ['evidence', 'sync', '--env', 'local', '--json'])
    expect(synced.code, synced.stderr).toBe(0)
    const result = JSON.parse(synced.stdout)
    expect(result.runs.map((r: {status: string}) => r.status)).toEqual(runs.map(() => 'uploaded'))
    expect(result.pending).toBe(0)

    const verified = await opsbook(cwd, ['evidence', 'verify', runs[4]!.runId, '--json'])
    expect(verified.code, verified.stderr).toBe(0)
    const checks = JSON.parse(verified.stdout).checks.map((c: {message: string}) => c.message)
    expect(checks).toEqual(expect.arrayContaining([expect.stringMatching(/^blob and local journals are byte-identical/)]))

    const summary = join(cwd, '.opsbook', 'runs', runs[4]!.runId, 'summary.json')
    writeFileSync(summary, readFileSync(summary, 'utf8').replace('"alice"', '"mallory"'))
    const bad = await opsbook(cwd, ['evidence', 'verify', runs[4]!.runId])
    expect(bad.code).toBe(1)
    // The edit contradicts the journal's seal (named first) and the blob copy.
    expect(bad.stderr).toMatch(/verification failed: local summary\.json: SHA-256 [0-9a-f]{16}… does not match [0-9a-f]{16}… sealed at journal\.jsonl line \d+/)
    expect(bad.stdout).toMatch(/✘ summary\.json: blob and local copies differ/)
  })
})

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
    // Before the sync nothing outside this machine holds the run, and the Activity Log witnesses none of its steps:
    // not "verified" but unanchored, exit 3 — a human must decide (issue 16: a consistent forgery verified so).
    // (A run whose uploads failed — Blob down while it ran — says so in its upload-state.json, as a forger's would.)
    const runId = runs[4]!.runId
    const prefix = `runs/${runId.slice(0, 4)}/${runId.slice(4, 6)}/${runId}/`
    writeFileSync(join(cwd, '.opsbook', 'runs', runId, 'upload-state.json'), JSON.stringify({runId, environment: 'local', account: 'stshopevidence', container: 'opsbook-evidence', blobPrefix: prefix, files: {}, pending: true}))
    const unsynced = await opsbook(cwd, ['evidence', 'verify', runs[4]!.runId, '--json'])
    expect(unsynced.code, unsynced.stderr).toBe(3)
    expect(JSON.parse(unsynced.stdout)).toMatchObject({ok: true, anchor: 'none', unanchored: expect.stringMatching(new RegExp(`^run ${runs[4]!.runId} is unanchored: it never reached \\S+ \\(no blob copy`))})
    expect(unsynced.stderr).toMatch(/not verified: run \S+ is unanchored: .*nothing outside this machine confirms the record/)
    // runs show (local files only) says so too, and what to do.
    const shown = await opsbook(cwd, ['runs', 'show', runId])
    expect(shown.stdout).toContain(`UNANCHORED: part of this run never reached the evidence container (upload pending) — nothing outside this machine confirms this record; \`opsbook evidence sync\` uploads it, \`opsbook evidence verify ${runId}\` checks it`)
    expect(JSON.parse((await opsbook(cwd, ['runs', 'show', runId, '--json'])).stdout).blob).toBe('pending')
    const synced = await opsbook(cwd, ['evidence', 'sync', '--env', 'local', '--json'])
    expect(synced.code, synced.stderr).toBe(0)
    const result = JSON.parse(synced.stdout)
    expect(result.runs.map((r: {status: string}) => r.status)).toEqual(runs.map(() => 'uploaded'))
    expect(result.pending).toBe(0)

    const verified = await opsbook(cwd, ['evidence', 'verify', runs[4]!.runId, '--json'])
    expect(verified.code, verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout).anchor).toBe('blob')
    expect((await opsbook(cwd, ['runs', 'show', runs[4]!.runId])).stdout).not.toContain('UNANCHORED')
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

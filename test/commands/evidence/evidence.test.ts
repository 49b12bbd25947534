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

  it('exports a bundle whose manifest records each run unanchored (never in Blob): verify says so (exit 3), and names the line when a journal byte changes (exit 1)', async () => {
    const exported = await opsbook(cwd, ['evidence', 'export', '--env', 'local', '--until', '2026-11-23', '--output', 'bundle.zip', '--json'])
    expect(exported.stderr).toBe('')
    expect(exported.code).toBe(0)
    const result = JSON.parse(exported.stdout)
    expect(result).toMatchObject({runs: 7, format: 'zip', output: join(cwd, 'bundle.zip')})
    // The drill of 2026-11-16 has a row for every component (the Cosmos DB, web app and failover legs among them): each
    // met row covers its component although the drill failed — only the cache, which missed its RTO again, is a gap.
    expect(result.coverageGaps).toEqual(['sessions-cache'])

    // None of these runs reached the evidence container: the manifest records each as unanchored, and the bundle's
    // verification says so as `evidence verify <runId>` does for one run — exit 3, not "verified" (issue 16).
    const manifest = JSON.parse(Buffer.from(unzipSync(readFileSync(join(cwd, 'bundle.zip')))['manifest.json']!).toString('utf8'))
    expect(manifest.runs.map((r: {anchor: string}) => r.anchor)).toEqual(runs.map(() => 'none').slice(0, 7))
    const unanchored = await opsbook(cwd, ['evidence', 'verify', 'bundle.zip', '--json'])
    expect(unanchored.code, unanchored.stderr).toBe(3)
    const verdict = JSON.parse(unanchored.stdout)
    expect(verdict).toMatchObject({ok: true, anchor: 'none', unanchored: expect.stringMatching(/^7 run\(s\) of the bundle unanchored \(.*\): the manifest records that they had not reached the evidence container/)})
    expect(verdict.runs).toEqual(manifest.runs.map((r: {runId: string}) => ({runId: r.runId, anchor: 'none', confirmed: false})))
    expect(unanchored.stderr).toMatch(/not verified: 7 run\(s\) of the bundle unanchored/)

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

    // Exported now, the bundle records every run as in Blob; offline that is the manifest's word (said so), with --env
    // it is recomputed against the container.
    expect((await opsbook(cwd, ['evidence', 'export', '--env', 'local', '--until', '2026-11-23', '--output', 'synced.zip'])).code).toBe(0)
    const offline = await opsbook(cwd, ['evidence', 'verify', 'synced.zip'])
    expect(offline.code, offline.stderr).toBe(0)
    expect(offline.stdout).toContain(
      "✔ bundle synced.zip verified (internally consistent; that its runs were in the evidence container when it was exported is its manifest's word, which offline verification cannot check: give --env to confirm it)",
    )
    // The same bundle as an opsbook from before per-run anchors wrote it (no `anchor` in manifest.runs; the manifest is
    // not among the hashed files): offline nothing says its runs ever left the exporting machine — not verified, exit 3.
    const zipped = unzipSync(readFileSync(join(cwd, 'synced.zip')))
    const older = JSON.parse(Buffer.from(zipped['manifest.json']!).toString('utf8'))
    for (const run of older.runs) delete run.anchor
    writeFileSync(join(cwd, 'older.zip'), zipSync({...zipped, 'manifest.json': Buffer.from(JSON.stringify(older, null, 2))}))
    const old = await opsbook(cwd, ['evidence', 'verify', 'older.zip', '--json'])
    expect(old.code, old.stderr).toBe(3)
    const oldVerdict = JSON.parse(old.stdout)
    expect(oldVerdict).toMatchObject({ok: true, anchor: 'none', unanchored: expect.stringMatching(/^7 run\(s\) of the bundle carry no anchor \(.*\): the manifest does not record whether they had reached the evidence container — a bundle exported before opsbook recorded each run's anchor — .*verify it with --env <env>/)})
    expect(oldVerdict.unanchored).toContain(runs[4]!.runId)
    expect(oldVerdict.runs).toHaveLength(7)
    expect(oldVerdict.runs.every((r: {anchor?: string; confirmed: boolean}) => r.anchor === undefined && !r.confirmed)).toBe(true)
    expect(old.stderr).toMatch(/not verified: 7 run\(s\) of the bundle carry no anchor/)
    const confirmed = await opsbook(cwd, ['evidence', 'verify', 'synced.zip', '--env', 'local', '--witness', 'none', '--json'])
    expect(confirmed.code, confirmed.stderr).toBe(0)
    const bundle = JSON.parse(confirmed.stdout)
    expect(bundle.anchor).toBe('blob')
    expect(bundle.runs).toHaveLength(7)
    expect(bundle.runs.every((r: {anchor: string; confirmed: boolean}) => r.anchor === 'blob' && r.confirmed)).toBe(true)
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

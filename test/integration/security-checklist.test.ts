/**
 * The security-checklist runbook through the real CLI against the `local` emulator serving the insecure scenario
 * (`opsbook emulator start --scenario insecure`: storage open to the public, plain FTP, TLS 1.0 …): the gate fails
 * (exit 1), and the failing findings still reach the run's outputs, its summary and the evidence report.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunningEmulator} from '../../src/emulator/server.js'
import {runCliInProcess} from '../helpers/cli.js'
import {runRunbookInProcess, startLocalEmulator} from './support.js'

let emulator: RunningEmulator

beforeAll(async () => {
  emulator = await startLocalEmulator({scenario: 'insecure'})
})
afterAll(async () => emulator?.stop())

describe('security-checklist', () => {
  it('a failed checklist run records its failing findings in the summary and the evidence report', async () => {
    // The CLI's commands run in the test process: what is under test is what the run records, not the process start.
    const run = await runRunbookInProcess(emulator, 'security-checklist')
    expect(run.code, run.stderr).toBe(1)
    expect(run.json.status).toBe('failed')
    const outputs = run.json.outputs
    expect(outputs.counts.fail).toBeGreaterThan(0)
    expect(outputs.findings.length).toBe(Math.min(100, outputs.counts.fail + outputs.counts.error))
    const anonymous = outputs.findings.find((f: {check: string}) => f.check === 'st.blob.anon_off')
    expect(anonymous).toMatchObject({severity: 'high', status: 'fail', message: 'allowBlobPublicAccess is true'})
    // The step's error names the blocking findings only: no low or medium check appears in it.
    const error: string = run.json.steps.find((s: {id: string}) => s.id === 'scan').error
    expect(error).toMatch(/^\d+ fail\(s\) or error\(s\) at or above high: /)
    // It names the first blocking findings (the first ten, then how many more).
    const firstHigh = outputs.findings.find((f: {severity: string; status: string}) => f.severity === 'high' && f.status === 'fail')
    expect(error).toContain(`${firstHigh.check} ${firstHigh.resource}`)
    // Every finding the error lists is a high or critical one (findings are ordered by severity and capped at 100,
    // so on a large insecure estate the outputs may hold no low or medium finding at all).
    const listed = error.replace(/^[^:]*: /, '').replace(/, … and \d+ more$/, '').split(', ')
    expect(listed.length).toBeGreaterThan(0)
    const blocking = new Set(outputs.findings.filter((f: {severity: string}) => f.severity === 'high' || f.severity === 'critical').map((f: {check: string; resource: string}) => `${f.check} ${f.resource}`))
    for (const entry of listed) expect(blocking, entry).toContain(entry)
    const lowOrMedium = outputs.findings.filter((f: {severity: string}) => f.severity === 'low' || f.severity === 'medium').map((f: {check: string}) => f.check)
    for (const check of lowOrMedium) expect(error).not.toContain(`${check} `)

    const summary = JSON.parse(readFileSync(run.json.summary ?? join(run.cwd, '.opsbook', 'runs', run.json.runId, 'summary.json'), 'utf8'))
    expect(summary.outputs.findings).toEqual(outputs.findings)

    const html = join(run.cwd, 'evidence.html')
    const exported = await runCliInProcess(['evidence', 'export', '--env', 'local', '--format', 'html', '--output', html, '--json'], {cwd: run.cwd, env: emulator.env()})
    expect(exported.code, exported.stderr).toBe(0)
    const report = readFileSync(html, 'utf8')
    expect(report).toContain('<h4>Checklist results</h4>')
    expect(report).toContain(`<tr><td>findings</td><td>st.blob.anon_off · ${anonymous.resource} · high · fail · allowBlobPublicAccess is true</td></tr>`)
    expect(report).toContain(`<tr><td>blocking</td><td>${firstHigh.check} ${firstHigh.resource}`)
  })
})

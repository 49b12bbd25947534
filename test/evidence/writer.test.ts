import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Redactor, REDACTED} from '../../src/evidence/redact.js'
import {outputRedactor, redactedBytes, startRunRedactor, writeRedactedFile} from '../../src/evidence/writer.js'
import {tempDir} from './blob-helpers.js'

// Issue 16, item 2: request.json carried raw params. Every file now goes through this writer, which redacts whatever
// the caller passes — registered secrets, credential shapes, sensitive keys — so no caller has to remember.
describe('the one redacting writer', () => {
  const storageKey = Buffer.from(Array.from({length: 64}, (_, i) => (i * 29 + 5) % 256)).toString('base64')
  const request = {
    runId: 'r1',
    params: {
      conn: `DefaultEndpointsProtocol=https;AccountName=st;AccountKey=${storageKey};EndpointSuffix=core.windows.net`,
      sas: 'https://st.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=Zm9vYmFyYmF6%3D',
      token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl',
      header: 'authorization: bearer abcDEF123456ghiJKL',
      ado: 'Server=pg;Password="a;b c\'d";Database=orders',
      url: 'postgres://opsbook:S3cret!x@pg:5432/orders',
    },
  }

  it('redacts every credential shape in the JSON it writes (what request.json held verbatim)', async () => {
    const path = join(tempDir(), 'runs', 'r1', 'request.json')
    await writeRedactedFile(path, {json: request})
    const written = readFileSync(path, 'utf8')
    for (const leaked of [storageKey, 'Zm9vYmFyYmF6', 'eyJhbGciOiJIUzI1NiJ9', 'abcDEF123456', 'a;b c', 'S3cret!x']) expect(written).not.toContain(leaked)
    expect(JSON.parse(written).runId).toBe('r1')
    expect(written).toContain(REDACTED)
  })

  it('catches the escaped spelling a registered secret takes once serialised, and keeps the JSON valid', () => {
    const redactor = new Redactor()
    const secret = 'pa"ss\\word-77'
    redactor.add(secret)
    const bytes = redactedBytes({json: {nested: {message: `login with ${JSON.stringify({pw: secret})}`}}}, redactor).toString('utf8')
    expect(bytes).not.toContain('ss\\\\word')
    expect(bytes).not.toContain('word-77')
    expect(() => JSON.parse(bytes)).not.toThrow()
  })

  it('keeps JSON valid when a number holds a secret (fromJSON of a numeric secret; a PIN inside a count)', () => {
    // A run's outputs carried fromJSON(params.n) as a bare number: the text pass turned `"num": 98765432` into
    // `"num": [REDACTED]`, so journal.jsonl and summary.json stopped being JSON and the evidence could not be uploaded.
    const redactor = new Redactor()
    redactor.add('98765432')
    redactor.add('4321')
    for (const line of [false, true]) {
      const bytes = redactedBytes({json: {outputs: {num: 98765432, count: 143210, ok: 12}}, line}, redactor).toString('utf8')
      expect(() => JSON.parse(bytes)).not.toThrow()
      expect(bytes).not.toContain('98765432')
      expect(bytes).not.toContain('4321')
      expect(JSON.parse(bytes).outputs).toEqual({num: REDACTED, count: REDACTED, ok: 12})
    }
  })

  it('leaves no temporary file behind when the write fails (summary.json.tmp-<pid> stayed on a full disk)', async () => {
    const {mkdirSync, readdirSync} = await import('node:fs')
    const dir = tempDir()
    // A directory where the file should go: the temporary file is written, the rename fails.
    mkdirSync(join(dir, 'summary.json'))
    await expect(writeRedactedFile(join(dir, 'summary.json'), {json: {a: 1}})).rejects.toThrow()
    expect(readdirSync(dir)).toEqual(['summary.json'])
  })

  it('writes exclusively when asked, and never leaves a temporary file behind', async () => {
    const dir = tempDir()
    const path = join(dir, 'once.json')
    await writeRedactedFile(path, {json: {a: 1}}, {exclusive: true})
    await expect(writeRedactedFile(path, {json: {a: 2}}, {exclusive: true})).rejects.toThrow(/EEXIST/)
    await writeRedactedFile(join(dir, 'atomic.md'), {text: 'Password=hunter2;'})
    expect(readFileSync(join(dir, 'atomic.md'), 'utf8')).toBe(`Password=${REDACTED};`)
    const {readdirSync} = await import('node:fs')
    expect(readdirSync(dir).sort()).toEqual(['atomic.md', 'once.json'])
  })
})

describe('the output redactor across runs', () => {
  it('starts afresh with each run, so a process running many runs keeps only the current run\'s secrets', () => {
    // The soak (200 drills in one process) grew with every run's SAS URLs, each in a dozen spellings, in one pattern.
    const first = startRunRedactor()
    first.add('first-run-sas-signature-1234')
    expect(outputRedactor()).toBe(first)
    expect(outputRedactor().redactText('sig first-run-sas-signature-1234')).toBe(`sig ${REDACTED}`)
    const second = startRunRedactor()
    second.add('second-run-secret-5678')
    expect(outputRedactor()).toBe(second)
    // Only this run's secret forms: the earlier run's are not carried along (a run is given its own secrets again).
    expect(second.size).toBeLessThan(first.size + 1)
    expect(second.redactText('first-run-sas-signature-1234')).toBe('first-run-sas-signature-1234')
    expect(outputRedactor().redactText('second-run-secret-5678')).toBe(REDACTED)
  })
})

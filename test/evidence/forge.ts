/**
 * What an attacker with write access to a run folder (or a bundle) can do: edit a file, and recompute everything
 * that is computable without a secret — the hash chain, the seal's hashes, summary.json's journal end, the bundle
 * manifest. Used by the tamper and sync tests to prove such edits are still caught against Blob.
 */
import {createHash} from 'node:crypto'

const sha = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex')

export type Line = Record<string, any>

export function parseLines(journal: string): Line[] {
  return journal.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line)
}

/** Journal text with seq and prev recomputed, so the chain holds again. */
export function rechain(lines: Line[]): string {
  let prev = '0'.repeat(64)
  const out: string[] = []
  lines.forEach((line, index) => {
    const text = JSON.stringify({...line, seq: index + 1, prev})
    out.push(text)
    prev = sha(text)
  })
  return `${out.join('\n')}\n`
}

/**
 * A fully consistent forgery of a sealed run: `summary`, `report` and `request` as given, summary.journal pointing at
 * the line before the seal, the seal re-hashed over the forged files, the chain recomputed.
 */
export function reseal(files: {journal: string; summary: string; report?: string; request?: string}): {journal: string; summary: string; report?: string; request?: string} {
  const lines = parseLines(files.journal)
  const seal = lines.pop()!
  if (seal.type !== 'evidence.sealed') throw new Error('the journal does not end with a seal')
  const body = rechain(lines)
  const bodyLines = body.split('\n').filter(Boolean)
  const summary = JSON.parse(files.summary)
  summary.journal = {lines: bodyLines.length, lastHash: sha(bodyLines.at(-1)!)}
  const summaryText = `${JSON.stringify(summary, null, 2)}\n`
  const sealed: Record<string, {sha256: string; bytes: number}> = {}
  const add = (name: string, text: string | undefined) => {
    if (text !== undefined) sealed[name] = {sha256: sha(text), bytes: Buffer.byteLength(text)}
  }
  add('request.json', files.request)
  add('summary.json', summaryText)
  add('report.md', files.report)
  const journal = rechain([...lines, {...seal, data: {files: sealed}}])
  return {journal, summary: summaryText, report: files.report, request: files.request}
}

/** The bundle manifest recomputed over `files` (path → bytes), as an attacker would after editing the bundle. */
export function remanifest(files: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const manifest = JSON.parse(Buffer.from(files.get('manifest.json')!).toString('utf8'))
  manifest.files = [...files.entries()]
    .filter(([path]) => path !== 'manifest.json')
    .map(([path, bytes]) => ({path, bytes: bytes.length, sha256: sha(bytes)}))
    .sort((a: {path: string}, b: {path: string}) => a.path.localeCompare(b.path))
  for (const run of manifest.runs ?? []) {
    const journal = files.get(`runs/${run.runId}/journal.jsonl`)
    if (!journal) continue
    const lines = Buffer.from(journal).toString('utf8').split('\n').filter(Boolean)
    run.journal = {lines: lines.length, lastHash: sha(lines.at(-1)!)}
  }
  const out = new Map(files)
  out.set('manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`))
  return out
}

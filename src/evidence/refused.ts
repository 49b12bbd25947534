/**
 * The record of a run that preflight refused (no credential, a missing permission, a production run without its
 * leases or evidence store): `<root>/runs/<runId>/refused.json` and nothing else in that folder — no journal, since
 * nothing ran, no lease was taken and nothing changed. It says who asked for what, why it was refused and when, so
 * `runs list` / `runs show` account for every attempt. Written redacted like every other file of a run.
 */
import {join} from 'node:path'
import type {Redactor} from './redact.js'
import {writeRedactedFile} from './writer.js'

export const REFUSED_FILE = 'refused.json'

export interface RefusedRun {
  runId: string
  status: 'refused'
  runbook: string
  environment: string
  refusedAt: string
  who: {osUser: string; host: string; azurePrincipal?: string}
  /** What was asked: non-secret params, the components it would have acted on. */
  request: {params: Record<string, string>; components: string[]; changes: boolean}
  /** Why: the exit code, the error's code and message, what to do. */
  why: {exitCode: number; code: string; message: string; suggestions: string[]; details?: unknown}
  /** Always false: preflight refuses before the first lease, journal line or change. */
  changed: false
  leasesTaken: 0
}

export async function writeRefusedRun(dir: string, record: RefusedRun, redactor: Redactor): Promise<string> {
  const path = join(dir, REFUSED_FILE)
  await writeRedactedFile(path, {json: record}, {redactor, atomic: true})
  return path
}

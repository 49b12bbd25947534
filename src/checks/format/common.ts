/** Shared bits of the output formats. */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import type {Finding, Frameworks} from '../types.js'

let version: string | undefined
/** opsbook's version, from package.json (same relative path from src/ and dist/). */
export function toolVersion(): string {
  if (version) return version
  try {
    version = String(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version ?? '0.0.0')
  } catch {
    version = '0.0.0'
  }
  return version
}

/** A stable fingerprint of a finding: the check id and the lower-cased resource id, SHA-256. */
export function fingerprint(finding: Pick<Finding, 'checkId' | 'resourceId'>): string {
  return createHash('sha256').update(`${finding.checkId}|${finding.resourceId.toLowerCase()}`).digest('hex')
}

/** `CIS F3 5.2.1; MCSB DP-3` style text. */
export function frameworksText(frameworks: Frameworks): string {
  const parts: string[] = []
  if (frameworks.cis?.length) parts.push(`CIS ${frameworks.cis.join(', ')}`)
  if (frameworks.mcsb?.length) parts.push(`MCSB ${frameworks.mcsb.join(', ')}`)
  if (frameworks.soc2?.length) parts.push(`SOC 2 ${frameworks.soc2.join(', ')}`)
  if (frameworks.iso27001?.length) parts.push(`ISO 27001 ${frameworks.iso27001.join(', ')}`)
  return parts.join('; ')
}

/** Shared bits of the output formats. */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import type {Finding, Frameworks} from '../types.js'

let manifest: {version: string; homepage?: string} | undefined
function packageManifest(): {version: string; homepage?: string} {
  if (manifest) return manifest
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
    const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url
    const homepage = [pkg.homepage, repository].map((u) => (typeof u === 'string' ? u.replace(/^git\+/, '').replace(/\.git$/, '') : undefined)).find((u) => u && /^https:\/\//.test(u))
    manifest = {version: String(pkg.version ?? '0.0.0'), homepage}
  } catch {
    manifest = {version: '0.0.0'}
  }
  return manifest
}

/** opsbook's version, from package.json (same relative path from src/ and dist/). */
export function toolVersion(): string {
  return packageManifest().version
}

/**
 * Where opsbook is published: package.json `homepage` (or `repository`), never a made-up address. Undefined when
 * the package names none (it names none today); SARIF then omits informationUri and helpUri rather than point
 * somewhere wrong. Both are optional: "A toolComponent object MAY contain a property named informationUri" (OASIS
 * SARIF v2.1.0, toolComponent object), and the 2.1.0 schema requires only `name` of a toolComponent and only `id` of
 * a reportingDescriptor (test/fixtures/sarif-2.1.0.schema.json; test/checks/run.test.ts validates a log with and
 * without a homepage against it).
 */
export function projectHomepage(): string | undefined {
  return packageManifest().homepage
}

/** The anchor of a check in docs/checks.md (the generator writes `<a id="…">` with the check id itself). */
export function checkDocUrl(homepage: string | undefined, checkId: string): string | undefined {
  if (!homepage) return undefined
  const base = /^https:\/\/github\.com\/[^/]+\/[^/]+\/?$/.test(homepage) ? `${homepage.replace(/\/$/, '')}/blob/main/docs/checks.md` : `${homepage.replace(/\/$/, '')}/docs/checks.md`
  return `${base}#${checkId}`
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

/**
 * A scratch project folder whose catalog has one emulator environment `local` with no components: enough for
 * runbooks that act on nothing in Azure (hello, a local file runbook) to run end to end through the CLI.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export function emptyEmulatorProject(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `opsbook-${name}-`))
  writeFileSync(
    join(dir, 'runbooks.yaml'),
    `version: 1
environments:
  local:
    cloud: emulator
    subscription: 00000000-0000-0000-0000-00000000c0de
    region: eastus
    production: false
    resourceGroups: [rg-${name}]
    components: {}
`,
  )
  return dir
}

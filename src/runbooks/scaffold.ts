/**
 * `opsbook runbooks new <name>`: a runbook file to start from. It validates as written (a test loads it), carries the
 * `# yaml-language-server: $schema=` header so editors complete and check fields, and shows the language's main
 * features in a few lines: a param, needs, a group with outputs, rollback and finally.
 */
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {ValidationError} from '../errors.js'
import {packageRoot} from './package-paths.js'
import {RUNBOOK_KINDS} from './schema.js'

export type ScaffoldKind = (typeof RUNBOOK_KINDS)[number]

export interface ScaffoldOptions {
  /** Folder to write into (the catalog's runbooks folder, or the current folder). */
  dir: string
  kind?: ScaffoldKind
  /** Replace an existing file. */
  force?: boolean
}

/** The schema header for a runbook at `file`: a path relative to it, so it works in a checkout and an installed package. */
export function schemaHeader(file: string): string {
  const schema = join(packageRoot(), 'schema', 'runbook.schema.json')
  const path = relative(dirname(resolve(file)), schema).split(sep).join('/')
  return `# yaml-language-server: $schema=${path.startsWith('.') ? path : `./${path}`}`
}

/** The text of a new runbook named `name`. */
export function scaffoldText(name: string, kind: ScaffoldKind, file: string): string {
  return `${schemaHeader(file)}
# Language reference: docs/runbook-language.md. Check it with: opsbook runbooks validate ${name}.yaml
name: ${name}
title: TODO one line saying what ${name} does
kind: ${kind}
params:
  target:
    type: string
    description: What the run acts on
    default: example
steps:
  - id: start
    uses: core.log
    with:
      message: "starting on \${{ params.target }} in \${{ env.name }}"
  # A group: its steps run as one node; outputs are read from its steps.
  - id: work
    needs: start
    steps:
      - id: first
        uses: core.log
        with:
          message: first step
        rollback:
          uses: core.log
          with:
            message: undo the first step
      - id: check
        needs: first
        uses: core.assert
        with:
          that: \${{ steps.first.status == 'succeeded' }}
          message: the first step did not succeed
    outputs:
      checked: \${{ steps.check.status }}
finally:
  - id: done
    uses: core.log
    with:
      message: "finished: work \${{ steps.work.status }}"
outputs:
  checked: \${{ steps.work.outputs.checked }}
`
}

/** Write the scaffold; exit 2 when the name is not kebab-case or the file exists (without force). */
export function scaffoldRunbook(name: string, options: ScaffoldOptions): {file: string; text: string} {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name))
    throw new ValidationError([{code: 'invalid-name', message: `runbook name "${name}": expected a kebab-case name such as db-failover`}])
  const file = join(resolve(options.dir), `${name}.yaml`)
  if (existsSync(file) && !options.force)
    throw new ValidationError([{code: 'file-exists', message: `${file} already exists; choose another name or pass --force to replace it`}])
  const text = scaffoldText(name, options.kind ?? 'maintenance', file)
  mkdirSync(dirname(file), {recursive: true})
  writeFileSync(file, text)
  return {file, text}
}

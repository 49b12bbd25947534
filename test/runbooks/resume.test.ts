/**
 * resume's check that the catalog found here points the run's remaining steps at the resources the run started on
 * (request.json's catalogSha256 and targets). The end-to-end cases (refusal and continuation from Blob on another
 * laptop) are in test/integration/resume.test.ts; these are the catalog cases around them, on the real loader.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadCatalog} from '../../src/catalog/loader.js'
import {componentResourceId} from '../../src/catalog/resource-id.js'
import type {ResumeState} from '../../src/evidence/resume-state.js'
import {ValidationError} from '../../src/errors.js'
import {checkTargets} from '../../src/runbooks/resume.js'
import {repoRoot, scratchDir} from '../helpers/cli.js'

const original = loadCatalog({flag: join(repoRoot, 'runbooks.yaml')})
const local = original.catalog.environments.local!

function catalogHere(edit: (text: string) => string) {
  const dir = scratchDir()
  writeFileSync(join(dir, 'runbooks.yaml'), edit(readFileSync(join(repoRoot, 'runbooks.yaml'), 'utf8')))
  return loadCatalog({cwd: dir})
}

function stateOf(request: ResumeState['request']): ResumeState {
  return {environmentName: 'local', request} as ResumeState
}

const recorded = () =>
  stateOf({catalogFile: '/home/first-laptop/shop/runbooks.yaml', catalogSha256: original.sha256, targets: {'orders-db': componentResourceId(local, 'orders-db')!, 'sessions-cache': componentResourceId(local, 'sessions-cache')!}})

describe('resume: the catalog here against the run\'s recorded targets', () => {
  it('says nothing when the catalog is the one the run started with', () => {
    expect(checkTargets('r1', recorded(), original)).toBeUndefined()
  })

  it('refuses a catalog whose environment is another subscription, naming both ids and the catalog to use', () => {
    const here = catalogHere((t) => t.replace(`subscription: ${local.subscription}`, 'subscription: 11111111-2222-3333-4444-555555555555'))
    const error = (() => {
      try {
        checkTargets('r1', recorded(), here)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ValidationError)
    const message = (error as ValidationError).message
    expect(message).toContain(componentResourceId(local, 'orders-db')!)
    expect(message).toContain(componentResourceId(here.catalog.environments.local!, 'orders-db')!)
    expect(message).toContain('/subscriptions/11111111-2222-3333-4444-555555555555/')
    expect(message).toContain('--catalog <a copy of /home/first-laptop/shop/runbooks.yaml')
    expect(message).toContain('component sessions-cache')
  })

  it('refuses a catalog without the component the run acts on', () => {
    const here = catalogHere((t) => t.replace(/\n {6}sessions-cache:\n/, '\n      sessions-cache-renamed:\n'))
    expect(() => checkTargets('r1', recorded(), here)).toThrow(/component sessions-cache of environment local: .* has no such component/)
  })

  it('continues with one line when the catalog differs but names the same resources', () => {
    const here = catalogHere((t) => `${t}\n# edited\n`)
    expect(here.sha256).not.toBe(original.sha256)
    expect(checkTargets('r1', recorded(), here)).toMatch(/^the catalog here \(.*\) differs from the one run r1 started with, but the run's targets are the same resources \(orders-db, sessions-cache\): continuing$/)
  })

  it('continues a run recorded before targets were, with one line saying they could not be compared', () => {
    const older = stateOf({catalogFile: '/home/first-laptop/shop/runbooks.yaml', runbook: 'pg-pitr'})
    expect(checkTargets('r1', older, original)).toMatch(/^run r1 did not record the Azure resources it acts on .* could not be compared/)
  })
})

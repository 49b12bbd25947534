#!/usr/bin/env node
// Writes oclif.manifest.json from the built commands, so `--help` and command lookup do not import every
// command module (measured: most of the startup cost). Generated on every build; never committed (a stale
// manifest hides new commands).
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Plugin} from '@oclif/core'

// The manifest names the built commands (dist/), as bin/run.js runs them: with NODE_ENV "development" or "test" (a
// build started by vitest, test/helpers/fresh-build.ts) oclif would otherwise record src/*.ts paths, which node cannot load.
globalThis.oclif.enableAutoTranspile = false
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const plugin = new Plugin({root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true})
await plugin.load()
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2))
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`)

#!/usr/bin/env node
// @oclif/core/execute avoids loading the whole barrel before a command is chosen (faster --help).
import {execute} from '@oclif/core/execute'

// This entry runs the build (dist), whatever NODE_ENV says; bin/dev.js runs the TypeScript source through tsx. oclif
// otherwise registers tsx and loads src/ in place of dist/ whenever NODE_ENV is "development" or "test" and a
// tsconfig.json sits next to package.json (a checkout of this repository) — so a contributor's shell, and every CLI
// the test suite starts (vitest sets NODE_ENV=test), ran the source through a loader instead of what `npm run build`
// made, at about 1 s more CPU per command (`catalog validate` 2.4 → 1.2 s, `plan dr-drill` 3.5 → 1.9 s).
// settings: https://github.com/oclif/core/blob/main/src/config/ts-path.ts (enableAutoTranspile === false: compiled source).
globalThis.oclif.enableAutoTranspile = false

await execute({dir: import.meta.url})

#!/usr/bin/env node
// V8's optimising compiler (TurboFan) off for the first CPU seconds of a command, then on again. A command is short:
// it loads ~200–900 modules, parses a catalog and a runbook once and exits, and TurboFan spent that time compiling
// (on background threads) code that ran once — 0.25–0.5 s of the ~1–1.6 s CPU of `runbooks list`, `catalog validate`,
// `plan dr-drill` (bench/startup.js measures it). Code still runs in Ignition/Sparkplug meanwhile; a long command
// (an emulator, a fleet scan, a drill) gets TurboFan back once it has used STARTUP_CPU_US, so its hot loops are
// optimised as before. Set before anything else is loaded (hence the dynamic import below).
// v8.setFlagsFromString: https://nodejs.org/api/v8.html#v8setflagsfromstringflags ; tiers: https://v8.dev/blog/sparkplug
import {setFlagsFromString} from 'node:v8'

const STARTUP_CPU_US = 2_000_000
setFlagsFromString('--no-turbofan')
const started = process.cpuUsage()
const tiering = setInterval(() => {
  const used = process.cpuUsage(started)
  if (used.user + used.system < STARTUP_CPU_US) return
  setFlagsFromString('--turbofan')
  clearInterval(tiering)
}, 250)
tiering.unref()

// zod's interpreted parser, not its generated one: zod 4 compiles (new Function) a parser for each object schema the
// first time it parses with it, and a command parses one catalog and a few runbooks once — code compiled to run once
// (zod's `compile`/`generateFastpass`: ~0.1 s of `plan dr-drill`'s CPU). Both paths accept and reject the same input
// with the same issues. `jitless` is zod's own switch (z.config({jitless: true}); zod/v4/core/core.d.ts, $ZodConfig:
// "Disable JIT schema compilation"), set here on the config object zod/v4/core/core.js adopts when one is already
// there (`globalThis.__zod_globalConfig ??= {}`): before any schema is built (an object schema reads it when made),
// and without loading zod for --help and --version.
globalThis.__zod_globalConfig = {...globalThis.__zod_globalConfig, jitless: true}

// @oclif/core/execute avoids loading the whole barrel before a command is chosen (faster --help).
const {execute} = await import('@oclif/core/execute')

// This entry runs the build (dist), whatever NODE_ENV says; bin/dev.js runs the TypeScript source through tsx. oclif
// otherwise registers tsx and loads src/ in place of dist/ whenever NODE_ENV is "development" or "test" and a
// tsconfig.json sits next to package.json (a checkout of this repository) — so a contributor's shell, and every CLI
// the test suite starts (vitest sets NODE_ENV=test), ran the source through a loader instead of what `npm run build`
// made, at about 1 s more CPU per command (`catalog validate` 2.4 → 1.2 s, `plan dr-drill` 3.5 → 1.9 s).
// settings: https://github.com/oclif/core/blob/main/src/config/ts-path.ts (enableAutoTranspile === false: compiled source).
globalThis.oclif.enableAutoTranspile = false

await execute({dir: import.meta.url})

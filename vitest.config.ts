import {defineConfig} from 'vitest/config'
import SlowestFirst from './test/helpers/sequencer.js'

export default defineConfig({
  test: {
    // oclif writes through process.stdout; without this vitest swallows it (oclif/test#655).
    disableConsoleIntercept: true,
    include: ['test/**/*.test.ts'],
    // Every emulator response the suite sees is validated against Azure's vendored specs at teardown (test/contract).
    // The CLI under test is the build (bin/run.js runs dist/): rebuilt first when src/ is newer (test/helpers/fresh-build.ts).
    // test/helpers/tmp-root.ts points TMPDIR at one folder for the whole run (workers and the processes they start
    // inherit it) and removes it at the end unless a test failed: a run leaves nothing behind in /tmp.
    globalSetup: ['test/helpers/tmp-root.ts', 'test/helpers/fresh-build.ts', 'test/contract/global-setup.ts'],
    // A worker keeps its process and loaded modules from one test file to the next (isolate: false) instead of a new
    // process per file; test/helpers/file-isolation.ts undoes what a file leaves in the process (env, cwd, signal
    // listeners, MSAL's static managed-identity state). See that file for the measurement.
    isolate: false,
    setupFiles: ['test/helpers/file-isolation.ts'],
    testTimeout: 60_000,
    // A file's beforeAll starts an emulator (Azurite, the ARM emulator, its estate): the first start in a worker also
    // loads their modules. It waits for the emulator to answer; this is only when it gives up. Measured: the first
    // start 32 s wall (2.5 s CPU) at load 25, the next 5 s; at load 41 dr-drill-interrupt's beforeAll passed 60 s and
    // the file failed with both tests skipped. The fault suite's beforeAll already allows 180 s.
    hookTimeout: 180_000,
    // Integration tests spawn the CLI and start emulators; two cores cannot take more in parallel. Measured on the
    // 2-core machine beside other CPU-heavy work (load 7-12), test/integration without the fault matrix, interleaved:
    // wall 128-193 s with 2 workers, 106-153 s with 3, 128-151 s with 4 — no gain beyond the noise — while the CPU
    // spent rose (125-135 s, 133-139 s, 146-152 s) and every file ran slower (sum of file times 190-290 s, 226-320 s,
    // 345-435 s), nearer its timeouts. Once the emulator stopped making clients wait out compressed operations
    // (Retry-After, routing propagation) there is little idle time left for a third worker to fill.
    maxWorkers: 2,
    // The longest files start first, also in a fresh clone without vitest's cache of durations (see the sequencer).
    sequence: {sequencer: SlowestFirst},
    // Emulators the CLI starts in tests model their data planes (no PostgreSQL processes) unless a test asks for
    // real ones (OPSBOOK_EMULATOR_DATA_PLANE=real, or startEmulator({dataPlane: 'real'})): keeps the suite fast.
    env: {OPSBOOK_EMULATOR_DATA_PLANE: 'modelled'},
    reporters: ['default', 'json'],
    outputFile: {json: '.opsbook-test/results.json'},
    // GitHub's workflow parser imports its schema JSON without an import attribute, which Node 20 refuses; let Vite
    // transform it instead.
    server: {deps: {inline: ['@actions/workflow-parser']}},
  },
})

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
    // Four workers on the 2-core machine. #11's condition is a loaded machine: beside one CPU hog (`node -e 'for(;;){}'`)
    // the suite is CPU-bound (idle it spends ~320 s of CPU in ~250 s of wall, so it waits on emulators, child
    // processes and timers a third of the time), and its share of the two cores grows with the number of its runnable
    // processes. Measured beside a hog, one run each, main after stop 32's merges (vitest Duration / CPU user+sys):
    // 2 workers 301.7 s / 327 s, 3 workers 248.6 s / 327 s, 4 workers 235.9 s / 340 s. An earlier stop's
    // measurement beside much heavier work (load 7-12) found no gain beyond 2: there the CPU was taken whatever the count.
    // Files run slower each (nearer their limits: testTimeout 60 s, hookTimeout 180 s), so no file may wait for time.
    maxWorkers: 4,
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

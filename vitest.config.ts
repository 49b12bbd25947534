import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    // oclif writes through process.stdout; without this vitest swallows it (oclif/test#655).
    disableConsoleIntercept: true,
    include: ['test/**/*.test.ts'],
    // Every emulator response the suite sees is validated against Azure's vendored specs at teardown (test/contract).
    globalSetup: ['test/contract/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn the CLI and start emulators; two cores cannot take more in parallel.
    maxWorkers: 2,
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

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  testTimeout: 30000,
  maxWorkers: 2,
  // A worker whose event loop is empty still needs V8 to unmap its heap
  // (200-400 MB after a run): 0.4-1.1 s was measured on the 2-core VM, over
  // jest's 500 ms default, so every run warned of a leak it did not have. A
  // leaked handle keeps a worker alive for good, and the leaked timers seen
  // so far ran 10-30 s: 5 s still reports them.
  workerGracefulExitTimeout: 5000,
};

// The chaos scenarios, shared by bench/chaos.mjs (full scale, with targets)
// and test/integration/chaos.test.ts (small scale, as assertions).
// Each starts what it needs (simulator, controller, `credgw run`) under
// `dir`, stops all of it before it returns, and resolves to its figures.

export { runFuzz } from './fuzz.mjs';
export { runHostileVault } from './hostile.mjs';
export { runReloadRace } from './reload.mjs';
export { runBacklog } from './backlog.mjs';
export { HOSTILE_CASES } from './hostile-vault.mjs';
export { cleanup, tempDir } from '../env.mjs';

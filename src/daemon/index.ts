/** The daemon: what `credgw run` starts (cli/run.ts is its one caller). */
export { startDaemon } from './run.js';

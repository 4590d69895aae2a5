// The simulators have their own faces (sim/pmp, sim/controller); this one is
// what the tests, the benchmarks and the demo share besides them.
export * from './gateway-process.js';

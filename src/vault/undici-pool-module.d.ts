// undici ships no types for its deep module paths: this one is its Pool class
// (`module.exports = Pool`), the one `import { Pool } from 'undici'` gives.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}

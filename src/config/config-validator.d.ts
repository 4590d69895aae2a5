// The config schema's validator: Ajv's standalone code for configSchema with
// AJV_OPTIONS (./schema.ts), and the fingerprint of the schema it was made
// from. `npm run build` generates config-validator.js beside this file in
// src/ (for the tests) and in dist/ (scripts/build-config-validator.mjs); it
// is not kept in git.
import type { ValidateFunction } from 'ajv';

declare const validate: ValidateFunction;
export default validate;
export const schemaFingerprint: string;

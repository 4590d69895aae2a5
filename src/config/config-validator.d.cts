// The config schema's validator: Ajv's standalone code for configSchema with
// AJV_OPTIONS (./schema.ts), stamped with the schema's fingerprint.
// `npm run build` generates config-validator.cjs beside this file in src/
// (for the tests) and in dist/ (scripts/build-config-validator.mjs); it is
// not kept in git.
import type { ValidateFunction } from 'ajv';

declare const validate: ValidateFunction & { schemaFingerprint: string };
export = validate;

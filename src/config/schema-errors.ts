import type { ErrorObject, ValidateFunction } from 'ajv';
import precompiled, { schemaFingerprint as precompiledFingerprint } from './config-validator.js';
import { schemaFingerprint } from './schema.js';

/**
 * Turns Ajv's errors into the one style every config problem uses:
 * `<key path>: <what is wrong>`, for example `vaults[1].url: must be
 * https://host[:port]`. Messages never include the offending value: a
 * literal token typed where a reference belongs must not be echoed back
 * into a terminal, a log or a support ticket.
 */

/** What a value of each `$defs` shape must look like, for `pattern` failures. */
export const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  id: 'must be 1-128 characters of A-Z a-z 0-9 . _ : -',
  vaultName: 'must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit',
  secretRef:
    'must be a secret reference (file:///absolute/path, env://NAME or credential://NAME), never the token itself: ' +
    'put the token in /etc/credgw/credentials/<name> (root:credgw, chmod 640; credgw.service passes it on with LoadCredential=) and write credential://credgw_<name>, ' +
    'or in another file others cannot read (chmod o-rwx) and write file:///path/to/it',
  httpsUrl: 'must be https://host[:port]',
  controllerUrl: 'must be wss://host[:port]/path (ws:// only with controller.insecure true)',
  proxyUrl: 'must be http://[user@]host:port',
  absPath: 'must be an absolute path',
  audit: 'must be "stdout" or an absolute file path',
  appName: 'must be 1-64 visible ASCII characters (inner spaces allowed): it is sent as the APP_NAME header',
};

/** `/vaults/1/url` → `vaults[1].url`; the root is `(root)`. */
export function keyPath(instancePath: string, child?: string): string {
  const segments = instancePath === '' ? [] : instancePath.slice(1).split('/').map(unescapePointer);
  if (child !== undefined) segments.push(child);
  return formatKeyPath(segments);
}

/** Joins path segments: numbers as `[n]`, plain names with dots, others quoted. */
export function formatKeyPath(segments: ReadonlyArray<string | number>): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number' || /^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(root)' : out;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function describeTypes(type: unknown): string {
  const types = (Array.isArray(type) ? type : String(type).split(',')).map((t) => TYPE_NAMES[String(t)] ?? String(t));
  return types.length <= 1 ? (types[0] ?? 'of another type') : `${types.slice(0, -1).join(', ')} or ${types.at(-1)}`;
}

function defName(schemaPath: string): string | undefined {
  return /#\/\$defs\/([^/]+)\/[^/]+$/.exec(schemaPath)?.[1];
}

/** Levenshtein distance, for "did you mean" on unknown keys (small strings only). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggestion(unknown: string, parentSchema: unknown): string {
  const props = (parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (!props) return '';
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of Object.keys(props)) {
    const d = distance(unknown, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? ` (did you mean ${best}?)` : '';
}

/** One Ajv error → one problem line, or undefined when another line already says it. */
export function describeAjvError(err: ErrorObject): string | undefined {
  const params = err.params as Record<string, unknown>;
  const at = keyPath(err.instancePath);
  switch (err.keyword) {
    case 'required':
      return `${keyPath(err.instancePath, String(params['missingProperty']))}: is required`;
    case 'additionalProperties': {
      const extra = String(params['additionalProperty']);
      return `${keyPath(err.instancePath, extra)}: is not a known key${suggestion(extra, err.parentSchema)}`;
    }
    case 'type':
      return `${at}: must be ${describeTypes(params['type'])}`;
    case 'pattern': {
      const def = defName(err.schemaPath);
      return `${at}: ${(def && PATTERN_MESSAGES[def]) ?? 'has the wrong format'}`;
    }
    case 'enum':
      return `${at}: must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minimum':
      return `${at}: must be at least ${String(params['limit'])}`;
    case 'maximum':
      return `${at}: must be at most ${String(params['limit'])}`;
    case 'minLength':
      return params['limit'] === 1 ? `${at}: must not be empty` : `${at}: must be at least ${String(params['limit'])} characters`;
    case 'minItems':
      return params['limit'] === 1 ? `${at}: must not be empty` : `${at}: must have at least ${String(params['limit'])} items`;
    case 'maxLength':
      return `${at}: must be at most ${String(params['limit'])} characters`;
    default:
      // Ajv's own wording, which never quotes the value.
      return `${at}: ${err.message ?? `fails ${err.keyword}`}`;
  }
}

/** Problem lines for a list of Ajv errors, in order, without duplicates. */
export function describeAjvErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  const out: string[] = [];
  for (const err of errors ?? []) {
    const line = describeAjvError(err);
    if (line !== undefined && !out.includes(line)) out.push(line);
  }
  return out;
}

let checked = false;

/**
 * The schema's validator: Ajv's standalone code for configSchema, which
 * `npm run build` generates (./config-validator.d.ts says where), so that
 * no start loads Ajv's compiler or compiles the schema
 * (docs/benchmarks.md#memory-and-start-up). Checked once against the
 * schema it was generated from: a stale one (schema.ts edited since the
 * last build) would judge configs by old rules.
 */
export function schemaValidator(): ValidateFunction {
  if (!checked) {
    if (precompiledFingerprint !== schemaFingerprint()) {
      throw new Error('the config validator (config-validator.js) was generated from another config schema: run npm run build');
    }
    checked = true;
  }
  return precompiled;
}

/** Every schema problem of a raw config, as key-path lines. */
export function schemaProblems(raw: unknown): string[] {
  const validate = schemaValidator();
  return validate(raw) ? [] : describeAjvErrors(validate.errors);
}

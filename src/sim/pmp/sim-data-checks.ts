import { isPmpId } from '../../shared/index.js';
import { PmpSimError } from './sim-errors.js';

/**
 * The checks a simulator data file goes through, key by key: each failure
 * names the key path (SIM_DATA_INVALID).
 */

export type Obj = Record<string, unknown>;

export function fail(path: string, problem: string): never {
  throw new PmpSimError('SIM_DATA_INVALID', path, problem);
}

export function obj(v: unknown, path: string, allowed: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  for (const k of Object.keys(v)) {
    // Unknown keys are refused so that a typo (ticketIDRequired) cannot silently mean "false".
    if (!allowed.includes(k)) fail(join(path, k), `unknown key (allowed: ${allowed.join(', ')})`);
  }
  return v as Obj;
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function arr(o: Obj, key: string, path: string, required: boolean): unknown[] {
  const v = o[key];
  if (v === undefined && !required) return [];
  if (!Array.isArray(v)) fail(join(path, key), required && v === undefined ? 'is required (an array)' : 'must be an array');
  return v;
}

export function str(o: Obj, key: string, path: string, dflt?: string): string {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (v === undefined) fail(join(path, key), 'is required (a string)');
  if (typeof v !== 'string') fail(join(path, key), 'must be a string');
  return v;
}

export function nonEmpty(o: Obj, key: string, path: string): string {
  const v = str(o, key, path);
  if (v.trim() === '') fail(join(path, key), 'must not be empty');
  return v;
}

export function digits(o: Obj, key: string, path: string, dflt?: string): string {
  const v = o[key];
  if (typeof v === 'number') fail(join(path, key), `must be a string of digits (write "${v}", PMP IDs are strings)`);
  const s = str(o, key, path, dflt);
  if (!isPmpId(s)) fail(join(path, key), 'must be a string of digits');
  return s;
}

export function bool(o: Obj, key: string, path: string): boolean {
  const v = o[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail(join(path, key), 'must be true or false');
  return v;
}

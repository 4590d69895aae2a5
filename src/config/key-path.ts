import { errorWithCode } from '../shared/index.js';
import type { RawConfig } from './schema.js';

/**
 * Dot paths for `credgw config set|unset`: `telemetry.logLevel`,
 * `vaults[0].timeoutMs`, `vaults.0.timeoutMs`, or a vault by name:
 * `vaults.pmp-prod.pinSha256` / `vaults["pmp.prod"].caFile`.
 */

export type PathSegment = string | number;

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** A key path that does not parse or does not lead into the config (the CLI shows it as a usage error). */
export class KeyPathError extends errorWithCode('KEY_PATH_INVALID') {
  override readonly name = 'KeyPathError';
}

export function parseKeyPath(text: string): PathSegment[] {
  const segments: PathSegment[] = [];
  const re = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|([^.[\]]+)/gy;
  let pos = 0;
  while (pos < text.length) {
    if (segments.length > 0 && text[pos] === '.') pos++;
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new KeyPathError(`"${text}" is not a key path (like telemetry.logLevel or vaults[0].timeoutMs)`);
    pos = re.lastIndex;
    if (m[1] !== undefined) segments.push(Number(m[1]));
    else if (m[2] !== undefined) segments.push(JSON.parse(`"${m[2]}"`) as string);
    else segments.push(/^\d+$/.test(m[3]!) ? Number(m[3]) : m[3]!);
  }
  if (segments.length === 0) throw new KeyPathError('the key path is empty');
  for (const s of segments) if (typeof s === 'string' && FORBIDDEN.has(s)) throw new KeyPathError(`"${s}" is not a config key`);
  return segments;
}

type Container = Record<string, unknown> | unknown[];

/** Walks to the parent of the last segment, creating objects on the way when `create`. */
function walk(raw: RawConfig, segments: PathSegment[], create: boolean): { parent: Container; key: string | number } | undefined {
  let node: unknown = raw;
  for (let i = 0; i < segments.length - 1; i++) {
    const key = resolveSegment(node, segments[i]!, segments.slice(0, i + 1));
    const container = node as Record<string | number, unknown>;
    let next = container[key];
    if (next === undefined || next === null) {
      if (!create) return undefined;
      next = typeof segments[i + 1] === 'number' ? [] : {};
      container[key] = next;
    }
    if (typeof next !== 'object') throw new KeyPathError(`${segments.slice(0, i + 1).join('.')} is not an object`);
    node = next;
  }
  return { parent: node as Container, key: resolveSegment(node, segments.at(-1)!, segments) };
}

/** In an array, a non-numeric segment names an element by its `name` (vaults by name). */
function resolveSegment(node: unknown, seg: PathSegment, upTo: PathSegment[]): string | number {
  if (!Array.isArray(node)) {
    if (typeof node !== 'object' || node === null) throw new KeyPathError(`${upTo.join('.')} is not inside an object`);
    return seg;
  }
  if (typeof seg === 'number') {
    if (seg > node.length) throw new KeyPathError(`index ${seg} is past the end (${node.length} entries)`);
    return seg;
  }
  const index = node.findIndex((e) => typeof e === 'object' && e !== null && (e as { name?: unknown }).name === seg);
  if (index < 0) throw new KeyPathError(`no entry named "${seg}" in ${upTo.slice(0, -1).join('.')}`);
  return index;
}

export function setAtPath(raw: RawConfig, segments: PathSegment[], value: unknown): void {
  const { parent, key } = walk(raw, segments, true)!;
  (parent as Record<string | number, unknown>)[key] = value;
}

/** Removes a key (or an array element); true when something was there. */
export function unsetAtPath(raw: RawConfig, segments: PathSegment[]): boolean {
  const at = walk(raw, segments, false);
  if (!at) return false;
  if (Array.isArray(at.parent)) {
    if (typeof at.key !== 'number' || at.key >= at.parent.length) return false;
    at.parent.splice(at.key, 1);
    return true;
  }
  if (!Object.prototype.hasOwnProperty.call(at.parent, at.key)) return false;
  delete at.parent[at.key];
  return true;
}

/** A value typed on the command line: JSON when it parses as JSON, else the text itself. */
export function parseCliValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

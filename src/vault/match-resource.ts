import { isPmpId } from '../shared/index.js';
import type { PmpResource } from './types.js';

/** Exact name first, then a unique case-insensitive match. */
export function matchResource(list: readonly PmpResource[], name: string): PmpResource | 'none' | 'ambiguous' {
  const exact = list.find((r) => r.name === name);
  if (exact && isPmpId(exact.id)) return exact;
  const lower = name.toLowerCase();
  const loose = list.filter((r) => r.name.toLowerCase() === lower && isPmpId(r.id));
  if (loose.length === 1) return loose[0] as PmpResource;
  return loose.length === 0 ? 'none' : 'ambiguous';
}

// Types of host.mjs for the TypeScript tests that import it.

export const FRESH_MIB: number;
export const PAGES_PER_MIB: number;
export function procStatFields(pid: number): string[] | null;
export function anonFirstTouchUsPerPage(options?: { mib?: number; rounds?: number }): number;
export function pinnedNode(): { path: string; version: string } | null;
export function bareRuntimeStartMs(nodePath: string, runs?: number): number;
export function minorFaults(pid: number): number;
export function hostStartBaseline(): { touchUs: number; bareMs: number | null; line: string };

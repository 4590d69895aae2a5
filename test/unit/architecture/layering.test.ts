import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The layering of ../shared/style.md, enforced: a folder of src/ imports
 * only the folders its row allows, reaches into another folder only through
 * that folder's index.ts, and no import cycle runs through src/. Type-only
 * imports count: a type names a dependency as much as a value does.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/**
 * folder → the folders of ours it may import (besides itself). The style
 * guide's table, with four additions that keep the graph acyclic: a
 * component may read the type of its own config slice (`config`), `vault`
 * and `ha` name wire types of `protocol` (vault health, the role), and
 * `config` checks pins with `tls` when it compiles.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  shared: [],
  protocol: ['shared'],
  tls: ['shared'],
  config: ['tls', 'shared'],
  telemetry: ['config', 'shared'],
  ha: ['protocol', 'shared'],
  vault: ['protocol', 'tls', 'config', 'shared'],
  link: ['protocol', 'tls', 'config', 'shared'],
  commands: ['protocol', 'shared'],
  events: ['protocol', 'shared'],
  notices: ['tls', 'shared'],
  sim: ['protocol', 'tls', 'shared'],
  diagnose: ['link', 'vault', 'config', 'tls', 'telemetry', 'protocol', 'shared'],
  daemon: ['*'],
  cli: ['*'],
};

interface ImportEdge {
  from: string;
  to: string;
  spec: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import, re-export and dynamic import of a file, resolved to a src/ path. */
function importsOf(file: string): ImportEdge[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((ref) => ref.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => ({ from: file, to: resolve(dirname(file), spec.replace(/\.js$/, '.ts')), spec }));
}

const folderOf = (file: string): string => relative(SRC, file).split(sep)[0] ?? '';
const rel = (file: string): string => relative(SRC, file);

/** A folder importing one its row does not allow. */
function isForbidden(e: ImportEdge): boolean {
  const from = folderOf(e.from);
  const to = folderOf(e.to);
  if (from === to) return false;
  const allowed = MAY_IMPORT[from] ?? [];
  return !allowed.includes('*') && !allowed.includes(to);
}

/** An import into another folder that does not go through an index.ts (sim/pmp and sim/controller each have one). */
function isPastIndex(e: ImportEdge): boolean {
  if (folderOf(e.from) === folderOf(e.to)) return false;
  return !e.to.endsWith(`${sep}index.ts`);
}

const files = sourceFiles(SRC);
const edges = files.flatMap(importsOf);

describe('layering of src/', () => {
  it('finds the folders and their imports', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(edges.length).toBeGreaterThan(100);
    const folders = new Set(files.map(folderOf).filter((f) => !f.endsWith('.ts')));
    // A new folder needs a row in the table (and in the README's layout table).
    expect([...folders].filter((f) => !(f in MAY_IMPORT))).toEqual([]);
  });

  it('imports only the folders each folder may import', () => {
    const forbidden = edges
      .filter(isForbidden)
      .map((e) => `${rel(e.from)} → ${rel(e.to)}`);
    expect(forbidden).toEqual([]);
  });

  it("reaches into another folder only through its index.ts", () => {
    const pastIndex = edges
      .filter(isPastIndex)
      .map((e) => `${rel(e.from)} → ${rel(e.to)}`);
    expect(pastIndex).toEqual([]);
  });

  it('has no import cycle between files', () => {
    const next = new Map<string, string[]>();
    for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map(rel).join(' → '));
        return;
      }
      state.set(file, 'open');
      path.push(file);
      for (const to of next.get(file) ?? []) visit(to);
      path.pop();
      state.set(file, 'done');
    };
    for (const file of files) visit(file);
    expect(cycles).toEqual([]);
  });

  it('tells a forbidden or past-the-index import from an allowed one', () => {
    const edge = (from: string, to: string): ImportEdge => ({ from: join(SRC, from), to: join(SRC, to), spec: to });
    expect(isForbidden(edge('commands/x.ts', 'vault/types.ts'))).toBe(true);
    expect(isForbidden(edge('commands/x.ts', 'protocol/index.ts'))).toBe(false);
    expect(isForbidden(edge('daemon/x.ts', 'vault/index.ts'))).toBe(false);
    expect(isForbidden(edge('vault/x.ts', 'vault/types.ts'))).toBe(false);
    expect(isPastIndex(edge('link/x.ts', 'protocol/codec.ts'))).toBe(true);
    expect(isPastIndex(edge('link/x.ts', 'protocol/index.ts'))).toBe(false);
    expect(isPastIndex(edge('cli/x.ts', 'sim/pmp/index.ts'))).toBe(false);
    expect(isPastIndex(edge('link/x.ts', 'link/dial.ts'))).toBe(false);
  });
});

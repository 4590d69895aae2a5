import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * src/ loads modules only in forms that Node (dist/), ts-jest and esbuild
 * (the single-executable binary's CommonJS bundle, scripts/build-binary.mjs)
 * all follow as they are: static imports, and `import()` of a literal name
 * where loading stays lazy. Not createRequire (esbuild cannot see what it
 * loads, and the binary has no node_modules on disk), not a computed
 * `import()`, and no top-level await (a CommonJS bundle has none).
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** What a bundle cannot follow in one file, as `file:line what` lines. */
function unbundleable(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (node: ts.Node, what: string): void => {
    found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${what}`);
  };
  const visit = (node: ts.Node, inFunction: boolean): void => {
    if (ts.isIdentifier(node) && node.text === 'createRequire') at(node, 'createRequire');
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [spec] = node.arguments;
      if (!spec || !ts.isStringLiteralLike(spec)) at(node, 'import() of a computed name');
    }
    if (!inFunction && (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier))) at(node, 'top-level await');
    const fn = ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node);
    ts.forEachChild(node, (child) => visit(child, inFunction || fn));
  };
  visit(source, false);
  return found;
}

describe('src/ as the binary bundles it', () => {
  const files = sourceFiles(SRC);

  it('has no createRequire, computed import() or top-level await', () => {
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((f) => unbundleable(relative(SRC, f), readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });

  it('tells each form from the allowed ones', () => {
    const check = (text: string): string[] => unbundleable('x.ts', text).map((l) => l.slice('x.ts:'.length));
    expect(check("import { createRequire } from 'node:module';\nconst r = createRequire(import.meta.url);")).toEqual(['1 createRequire', '2 createRequire']);
    expect(check("const m = await import('pino-pretty');")).toEqual(['1 top-level await']);
    expect(check('for await (const x of xs) {}')).toEqual(['1 top-level await']);
    expect(check("const id = 'x';\nexport const load = () => import(id);")).toEqual(['2 import() of a computed name']);
    expect(check("export async function f() { return (await import('node-forge')).default; }")).toEqual([]);
    expect(check("class A { static { void (async () => { await 0; })(); } }\nexport const g = async () => { for await (const x of []) void x; };")).toEqual([]);
    expect(check("import Pool from 'undici/lib/dispatcher/pool.js';")).toEqual([]);
  });
});

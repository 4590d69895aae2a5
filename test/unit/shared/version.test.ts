import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../../src/shared/version.js';

// VERSION is a constant in src (a static import, the same in dist/, the
// tests and the binary); package.json is where `npm version` bumps it, and
// its `version` lifecycle script (scripts/sync-version.mjs) carries the bump over.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const versionFile = join(ROOT, 'src/shared/version.ts');

describe('VERSION', () => {
  it("is package.json's version", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };
    expect(VERSION).toBe(pkg.version);
    expect(pkg.scripts['version']).toBe('node scripts/sync-version.mjs && git add src/shared/version.ts');
  });

  describe('scripts/sync-version.mjs', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'credgw-version-'));
      mkdirSync(join(dir, 'scripts'));
      mkdirSync(join(dir, 'src/shared'), { recursive: true });
      copyFileSync(join(ROOT, 'scripts/sync-version.mjs'), join(dir, 'scripts/sync-version.mjs'));
      copyFileSync(versionFile, join(dir, 'src/shared/version.ts'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const run = (version: unknown): void => {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'credgw', version }));
      execFileSync(process.execPath, [join(dir, 'scripts/sync-version.mjs')], { stdio: 'pipe' });
    };

    it('writes the bumped version into src/shared/version.ts and changes nothing else', () => {
      run('12.3.4-rc.5');
      const before = readFileSync(versionFile, 'utf8');
      const after = readFileSync(join(dir, 'src/shared/version.ts'), 'utf8');
      expect(after).toContain("export const VERSION = '12.3.4-rc.5';\n");
      expect(after.replace('12.3.4-rc.5', VERSION)).toBe(before);
    });

    it('refuses a version that is not semver, leaving the file as it was', () => {
      expect(() => run("1.0.0'; process.exit(); '")).toThrow(/is not a semver version/);
      expect(readFileSync(join(dir, 'src/shared/version.ts'), 'utf8')).toBe(readFileSync(versionFile, 'utf8'));
    });
  });
});

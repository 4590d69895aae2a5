import { readFileSync } from 'node:fs';
import { BUILD_INFO } from './build-info.js';

/** The package version: stamped into the binary at build time, else read once from package.json next to dist/ or src/. */
export const VERSION: string =
  BUILD_INFO?.version ??
  (() => {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
      return pkg.version ?? '0.0.0';
    } catch {
      return '0.0.0';
    }
  })();

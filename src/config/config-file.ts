import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileConfig, type CompileOptions } from './compile.js';
import { ConfigError } from './config-error.js';
import { CONFIG_DIR_ENV, CONFIG_NAME, DEFAULT_CONFIG_DIR } from './defaults.js';
import { jsonSyntaxErrorOffset, lineAndColumn } from './json-position.js';
import type { RawConfig } from './schema.js';
import { schemaProblems } from './schema-errors.js';
import type { GatewayConfig } from './types.js';

/**
 * Reading config.json, without conf. `credgw run` (and its SIGHUP reload)
 * only reads the file: it loads this module and never conf and its
 * dependencies (resident memory: docs/benchmarks.md#memory-and-start-up).
 * Writing goes through the conf store (store.ts), which builds on this.
 */

/** config.json of one config directory, read-only. */
export interface ConfigFile {
  /** The config directory. */
  readonly dir: string;
  /** `<dir>/config.json`. */
  readonly path: string;
  exists(): boolean;
  /** The raw file, schema-checked; `{}` when there is no file yet. Throws ConfigError. */
  read(): RawConfig;
  /** The compiled config (every rule). Throws ConfigError. */
  load(): GatewayConfig;
}

export function configFile(configDir: string, compile?: CompileOptions): ConfigFile {
  const dir = resolve(configDir);
  const path = join(dir, `${CONFIG_NAME}.json`);
  // Not through conf: conf's read is this same JSON.parse plus this same schema check
  // (no defaults: useDefaults is off), and opening conf compiles the schema a second time.
  const read = (): RawConfig => (existsSync(path) ? readConfigFile(path) : {});
  return {
    dir,
    path,
    exists: () => existsSync(path),
    read,
    load: () => {
      try {
        return compileConfig(read(), compile);
      } catch (err) {
        if (err instanceof ConfigError && err.source === undefined) throw new ConfigError(err.problems, path);
        throw err;
      }
    },
  };
}

/** `--config-dir`, else CREDGW_CONFIG_DIR, else /etc/credgw; made absolute. */
export function resolveConfigDir(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? (env[CONFIG_DIR_ENV] || DEFAULT_CONFIG_DIR));
}


/**
 * Reads and parses a config file (for `config validate FILE` and the
 * store). With `parseOnly` the schema is not checked. A parse error names
 * the line and column, never the file's text (it may hold a pasted token).
 */
export function readConfigFile(file: string, opts: { parseOnly?: boolean } = {}): RawConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    throw new ConfigError([`(file): cannot read ${file} (${code})`], file, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError([`(file): not valid JSON ${jsonErrorPosition(text)}`.trimEnd()], file);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(['(root): must be an object'], file);
  }
  if (!opts.parseOnly) {
    const problems = schemaProblems(raw);
    if (problems.length > 0) throw new ConfigError(problems, file);
  }
  return raw as RawConfig;
}

/** "(at line L, column C)" of the first JSON syntax error, found without quoting the text. */
function jsonErrorPosition(text: string): string {
  const offset = jsonSyntaxErrorOffset(text);
  if (offset < 0) return '';
  if (offset >= text.length) return '(the text ends too early)';
  const { line, column } = lineAndColumn(text, offset);
  return `(at line ${line}, column ${column})`;
}

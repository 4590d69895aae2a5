import { chmodSync, chownSync, existsSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import Conf from 'conf';
import { validateConfig, type CompileOptions } from './compile.js';
import { ConfigError } from './config-error.js';
import { configFile, readConfigFile, type ConfigFile } from './config-file.js';
import { CONFIG_NAME, NEW_CONFIG_FILE_MODE } from './defaults.js';
import { AJV_OPTIONS, configSchema, type RawConfig } from './schema.js';

export { configFile, readConfigFile, resolveConfigDir, type ConfigFile } from './config-file.js';

/**
 * `config.json` kept by conf in the config directory. Reads parse the file
 * and check it with the one compiled schema validator (schema-errors.ts);
 * writes go through conf, which validates with the same schema and Ajv
 * options and writes through `atomically` (temp file, fsync, rename).
 *
 * Rewrites keep the existing file's owner, group and mode. The installer
 * makes the file root:credgw 0640 so the service can read it, and
 * `credgw vault add` run as root must not turn it into a root-only 0600
 * file. conf always passes its `configFileMode` to atomically (which would
 * otherwise copy the mode itself), so each write opens conf with the
 * existing file's mode; atomically copies uid/gid onto the temp file before
 * the rename. A last check after the rename repairs (or reports) anything
 * the platform did differently. Only a file created from scratch gets 0600.
 */

export interface ConfigStoreOptions {
  /** Mode of a config.json that does not exist yet. Default 0o600. */
  newFileMode?: number;
  /** Passed to compile (host name for default ids). */
  compile?: CompileOptions;
}

export interface ConfigStore extends ConfigFile {
  /**
   * Applies `mutator` to a copy of the raw file (it may edit the draft or
   * return a new object), validates the result with every rule, and writes
   * it atomically keeping owner, group and mode. Nothing is written when
   * the result is invalid (ConfigError). Returns what was written.
   */
  update(mutator: (draft: RawConfig) => RawConfig | void): RawConfig;
}

export function openConfigStore(configDir: string, opts: ConfigStoreOptions = {}): ConfigStore {
  const dir = resolve(configDir);
  const path = join(dir, `${CONFIG_NAME}.json`);
  const newFileMode = opts.newFileMode ?? NEW_CONFIG_FILE_MODE;

  return {
    ...configFile(dir, opts.compile),
    update: (mutator) => {
      const before = statOrUndefined(path);
      // Not read(): a file that breaks the schema can still be repaired through the CLI.
      const current = before ? readConfigFile(path, { parseOnly: true }) : {};
      const draft = structuredClone(current);
      const next = mutator(draft) ?? draft;
      const problems = validateConfig(next, opts.compile);
      if (problems.length > 0) throw new ConfigError(problems, path);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
      const mode = before ? before.mode & 0o7777 : newFileMode;
      let conf: Conf<RawConfig>;
      try {
        conf = openConf(dir, mode, true);
      } catch {
        // The current file breaks the schema (conf validates it on open). `next` was just
        // validated with the same schema and options, so write it through conf without one.
        conf = openConf(dir, mode, false);
      }
      conf.store = next;
      keepOwnership(path, before, mode);
      return JSON.parse(JSON.stringify(next)) as RawConfig;
    },
  };
}

function openConf(dir: string, configFileMode: number, withSchema: boolean): Conf<RawConfig> {
  const { properties, ...rootSchema } = configSchema;
  return new Conf<RawConfig>({
    cwd: dir,
    configName: CONFIG_NAME,
    configFileMode,
    clearInvalidConfig: false,
    accessPropertiesByDotNotation: false,
    serialize: (value) => `${JSON.stringify(value, null, 2)}\n`,
    ...(withSchema
      ? {
          schema: properties as never,
          rootSchema: rootSchema as never,
          ajvOptions: { ...AJV_OPTIONS },
        }
      : {}),
  });
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Makes sure the rewritten file has the old owner, group and mode (or the new-file mode). */
function keepOwnership(path: string, before: Stats | undefined, mode: number): void {
  const after = statSync(path);
  if (before && (after.uid !== before.uid || after.gid !== before.gid)) {
    try {
      chownSync(path, before.uid, before.gid);
    } catch (err) {
      throw new Error(
        `${path} was rewritten but its owner could not be kept (was ${before.uid}:${before.gid}, now ${after.uid}:${after.gid}): ` +
          `${(err as Error).message}; run: chown ${before.uid}:${before.gid} ${path}`,
        { cause: err },
      );
    }
  }
  if ((after.mode & 0o7777) !== mode) chmodSync(path, mode);
}


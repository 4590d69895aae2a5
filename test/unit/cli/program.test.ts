import { describe, expect, it } from '@jest/globals';
import { subcommandsFor } from '../../../src/cli/program.js';
import { runCredgw as cli } from '../../helpers/cli.js';

const ALL = ['config', 'vault', 'cert', 'sim', 'run', 'status', 'diagnose', 'demo', 'version'];

describe('subcommandsFor: which subcommand modules a command line loads', () => {
  it.each([
    [['run'], ['run']],
    [['--config-dir', '/etc/credgw', 'run'], ['run']],
    [['--config-dir', 'run', 'status'], ['status']],
    [['--config-dir=/x', '--verbose', 'sim', 'pmp'], ['sim']],
    [['run', '--help'], ['run']],
    [['-V'], []],
    [['--version', 'run'], []],
    [[], ALL],
    [['--help'], ALL],
    [['-h', 'run'], ALL],
    [['help', 'run'], ALL],
    [['rnu'], ALL],
    [['--', 'run'], ALL],
  ])('%j → %j', (argv, wanted) => {
    expect(subcommandsFor(argv)).toEqual(wanted);
  });
});

describe('the program with lazily loaded subcommands', () => {
  it('--help lists every subcommand', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const name of ALL) expect(r.out).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it('a subcommand gets its own help, and an unknown one a suggestion', async () => {
    expect((await cli(['run', '--help'])).out).toMatch(/^Usage: credgw run \[options\]/m);
    expect((await cli(['help', 'status'])).out).toMatch(/^Usage: credgw status/m);
    const typo = await cli(['rnu']);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('(Did you mean run?)');
  });

  it('--version prints the version without any subcommand', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('version --json reports the version and the Node runtime it runs on', async () => {
    const r = await cli(['version', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Record<string, unknown>;
    expect(report).toMatchObject({ node: process.version, arch: process.arch, platform: process.platform, packaging: 'node' });
    expect(report['version']).toMatch(/^\d+\.\d+\.\d+/);
    // From dist/ or src/ there is no build stamp; the binary's comes from scripts/build-binary.mjs.
    expect(report['commit']).toBeNull();
  });

  it('config example prints the annotated example config', async () => {
    const r = await cli(['config', 'example']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toHaveProperty('controller');
  });
});

import { PassThrough } from 'node:stream';
import { createLogger, createStdoutLogger, REDACT_PATHS } from '../../../src/telemetry/logger.js';

const SECRET = 'S3cr3t-V4lue-0000';

function capture(level: 'info' | 'debug' = 'debug') {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (s: string) => void lines.push(s) } });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON line with service, pid, hostname, ISO time and a level label', () => {
    const { logger, parsed } = capture('info');
    logger.info({ vault: 'pmp' }, 'vault healthy');
    logger.debug('not written at info');
    const [line, ...rest] = parsed();
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ level: 'info', service: 'credgw', pid: process.pid, vault: 'pmp', msg: 'vault healthy' });
    expect(typeof line!['hostname']).toBe('string');
    expect(String(line!['time'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  // Every shape a secret could take in a log call, as components would write it.
  const shapes: Array<[string, Record<string, unknown>]> = [
    ['token', { token: SECRET }],
    ['password', { password: SECRET }],
    ['AUTHTOKEN', { AUTHTOKEN: SECRET }],
    ['authorization', { authorization: `Bearer ${SECRET}` }],
    ['nested token', { profile: { token: SECRET } }],
    ['nested password', { data: { password: SECRET } }],
    ['result frame', { frame: { data: { password: SECRET } } }],
    ['protocol result', { msg: { result: { data: { password: SECRET } } } }],
    ['sealedPassword', { data: { sealedPassword: SECRET } }],
    ['req.headers.authorization', { req: { headers: { authorization: `Bearer ${SECRET}` } } }],
    ['headers.authtoken', { headers: { authtoken: SECRET } }],
    ['headers.AUTHTOKEN', { request: { headers: { AUTHTOKEN: SECRET } } }],
    ['deep headers', { a: { request: { headers: { AUTHTOKEN: SECRET } } } }],
    ['proxy-authorization', { headers: { 'proxy-authorization': `Basic ${SECRET}` } }],
    ['cookie', { req: { headers: { cookie: SECRET } } }],
    ['x-api-key', { headers: { 'x-api-key': SECRET } }],
    ['PMP PASSWORD', { body: { operation: { Details: { PASSWORD: SECRET } } } }],
    ['controller token in config', { config: { controller: { token: SECRET } } }],
    ['private key', { tls: { keyPem: SECRET, privateKey: SECRET } }],
    ['recipientKey (large, not secret)', { params: { recipientKey: SECRET } }],
    ['secret', { secret: SECRET }],
    ['error with a token field', { err: Object.assign(new Error('boom'), { token: SECRET }) }],
  ];

  it.each(shapes)('censors %s', (_name, fields) => {
    const { logger, lines } = capture();
    logger.info(fields, 'something happened');
    logger.child({ component: 'x' }).warn(fields, 'child line');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(SECRET);
      expect(line).toContain('[redacted]');
    }
  });

  it('keeps everything else', () => {
    const { logger, parsed } = capture();
    logger.info({ vault: 'pmp', resourceId: '301', accountName: 'administrator', token: SECRET }, 'fetched');
    expect(parsed()[0]).toMatchObject({ vault: 'pmp', resourceId: '301', accountName: 'administrator', token: '[redacted]' });
  });

  it('covers each secret key at the top and up to three levels down', () => {
    for (const key of ['token', 'password', 'AUTHTOKEN', 'authorization', 'sealedPassword']) {
      expect(REDACT_PATHS).toEqual(expect.arrayContaining([key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]));
    }
  });

  it('adds base fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (s: string) => void lines.push(s) }, base: { gatewayId: 'gw-a' } });
    logger.info('x');
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: 'credgw', gatewayId: 'gw-a' });
  });
});

describe('createStdoutLogger', () => {
  it('writes JSON lines unless pretty (pretty by default only for stdout on a terminal)', async () => {
    const lines: string[] = [];
    const logger = await createStdoutLogger({ destination: { write: (s: string) => void lines.push(s) } });
    logger.info({ token: SECRET }, 'plain');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', msg: 'plain', token: '[redacted]' });
  });

  it('pretty: human-readable lines through pino-pretty, in this thread, still redacted', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const logger = await createStdoutLogger({ pretty: true, level: 'debug', destination: out, base: { gatewayId: 'gw-a' } });
    logger.info({ vault: 'pmp', token: SECRET }, 'vault healthy');
    logger.debug('second line');
    // pino-pretty formats through a stream pipeline: the lines arrive a few ticks later.
    for (let i = 0; i < 100 && !text.includes('second line'); i++) await new Promise((r) => setTimeout(r, 5));
    const [first, ...rest] = text.split('\n');
    expect(first).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [^\]]+\] INFO: vault healthy$/);
    expect(rest.join('\n')).toContain('DEBUG: second line');
    expect(text).toContain('vault: "pmp"');
    expect(text).toContain('token: "[redacted]"');
    expect(text).toContain('gatewayId: "gw-a"');
    expect(text).not.toContain(SECRET);
    // pid, hostname and service are left out of pretty lines.
    expect(text).not.toMatch(/service|hostname|pid/);
  });
});

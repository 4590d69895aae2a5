import { decodeControllerFrame, decodeGatewayFrame, JSON_SHAPE_SCAN_FROM, jsonShapeProblem, MAX_JSON_DEPTH, MAX_JSON_VALUES } from '../../../src/protocol/index.js';

const pad = (n: number): string => 'x'.repeat(n);

function command(params: Record<string, unknown>): string {
  return JSON.stringify({ type: 'command', id: 'c1', epoch: 1, name: 'listAccounts', params: { vault: 'v', ...params } });
}

describe('jsonShapeProblem (protocol section 8: bounded parse cost)', () => {
  it('does not scan short frames', () => {
    expect(jsonShapeProblem('['.repeat(JSON_SHAPE_SCAN_FROM - 1))).toBeNull();
  });

  it('refuses nesting deeper than the limit', () => {
    const deep = '['.repeat(MAX_JSON_DEPTH + 1) + pad(JSON_SHAPE_SCAN_FROM) + ']'.repeat(MAX_JSON_DEPTH + 1);
    expect(jsonShapeProblem(deep)?.problem).toBe(`frame nests deeper than ${MAX_JSON_DEPTH} levels`);
    const ok = '['.repeat(MAX_JSON_DEPTH) + `"${pad(JSON_SHAPE_SCAN_FROM)}"` + ']'.repeat(MAX_JSON_DEPTH);
    expect(jsonShapeProblem(ok)).toBeNull();
  });

  it('refuses more values than the limit', () => {
    const attrs: Record<string, string> = {};
    for (let i = 0; i <= MAX_JSON_VALUES; i++) attrs[`a${i}`] = '1';
    expect(jsonShapeProblem(command({ resource: { customAttributes: attrs } }))?.problem).toBe(`frame holds more than ${MAX_JSON_VALUES} values`);
  });

  it('does not count brackets, commas, colons or escaped quotes inside strings', () => {
    const noisy = `${'[{,:'.repeat(JSON_SHAPE_SCAN_FROM)}\\"]]]`;
    expect(jsonShapeProblem(command({ resource: { name: noisy } }))).toBeNull();
  });

  it('passes the largest legitimate command (256 attributes, a 16 KiB key)', () => {
    const attrs: Record<string, string> = {};
    for (let i = 0; i < 256; i++) attrs[`${pad(250)}${i}`] = pad(512);
    const text = JSON.stringify({
      type: 'command', id: 'c1', epoch: 1, name: 'getPassword',
      params: { vault: 'v', accountId: '1', recipientKey: pad(16 * 1024), resource: { customAttributes: attrs } },
    });
    expect(jsonShapeProblem(text)).toBeNull();
    expect(decodeControllerFrame(text).kind).toBe('message');
  });

  it('reads the top-level type, id and epoch wherever they stand, never a nested one', () => {
    const deepValue = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    const text = `{"params":{"id":"inner","epoch":99,"x":${deepValue},"pad":"${pad(JSON_SHAPE_SCAN_FROM)}"},"type" : "command","epoch": 7 ,"id":"c-9"}`;
    expect(jsonShapeProblem(text)).toEqual({ problem: `frame nests deeper than ${MAX_JSON_DEPTH} levels`, head: { type: 'command', id: 'c-9', epoch: 7 } });
  });

  it('refuses a command of that shape with BAD_REQUEST for its id (its one result), anything else as a violation', () => {
    const attrs: Record<string, number> = {};
    for (let i = 0; i <= MAX_JSON_VALUES; i++) attrs[`a${i}`] = i;
    const wide = command({ resource: { customAttributes: attrs } });
    expect(decodeControllerFrame(wide)).toEqual({ kind: 'rejected', id: 'c1', epoch: 1, code: 'BAD_REQUEST', message: `frame holds more than ${MAX_JSON_VALUES} values` });
    const noEpoch = wide.replace('"epoch":1,', '"epoch":-1,');
    expect(decodeControllerFrame(noEpoch)).toMatchObject({ kind: 'rejected', id: 'c1', epoch: null });
    const badId = wide.replace('"id":"c1"', '"id":"no spaces allowed"');
    expect(decodeControllerFrame(badId)).toEqual({ kind: 'violation', reason: `frame holds more than ${MAX_JSON_VALUES} values` });
  });

  it('makes both decoders answer a violation, not a parse', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(decodeControllerFrame(deep)).toEqual({ kind: 'violation', reason: `frame nests deeper than ${MAX_JSON_DEPTH} levels` });
    expect(decodeGatewayFrame(deep)).toEqual({ kind: 'violation', reason: `frame nests deeper than ${MAX_JSON_DEPTH} levels` });
  });
});

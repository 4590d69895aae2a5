import { INPUT_DATA_MAX_CHARS, INPUT_DATA_MAX_DEPTH, parseInputDataText } from '../../../src/sim/pmp/input-data.js';
import { detailText, inputDetails } from '../../../src/sim/pmp/request-params.js';

/**
 * The simulator's INPUT_DATA reader, form by form: what PAM360's Java JSON
 * reader (org.json) takes beyond JSON, and what it refuses.
 */

const parse = (text: string): unknown => {
  const v = parseInputDataText(text);
  // Null-prototype objects compare by content through a JSON round trip.
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
};

describe('parseInputDataText: accepted forms', () => {
  it.each([
    ['strict JSON', '{"operation":{"Details":{"REASON":"x","TICKETID":"T-1"}}}', { operation: { Details: { REASON: 'x', TICKETID: 'T-1' } } }],
    [
      "Python repr (str(dict)), as ManageEngine's own pack sends it",
      "{'operation': {'Details': {'REASON': 'x', 'TICKETID': 'T-1'}}}",
      { operation: { Details: { REASON: 'x', TICKETID: 'T-1' } } },
    ],
    ['unquoted keys', '{operation: {Details: {REASON: "x"}}}', { operation: { Details: { REASON: 'x' } } }],
    ['unquoted values, trimmed, with inner spaces', '{operation:{Details:{REASON:  remote console launch  }}}', { operation: { Details: { REASON: 'remote console launch' } } }],
    ['mixed quotes', `{"a": 'b', 'c': "d"}`, { a: 'b', c: 'd' }],
    ['a double quote inside single quotes', `{'a': 'say "hi"'}`, { a: 'say "hi"' }],
    ["Python's escaped single quote", `{'a': 'it\\'s'}`, { a: "it's" }],
    ['JSON escapes in single quotes', `{'a': 'tab\\there \\u00e9 \\/ \\\\'}`, { a: 'tab\there é / \\' }],
    ['Python True/False (booleans in any case)', "{'a': True, 'b': False, 'c': TRUE, 'd': null}", { a: true, b: false, c: true, d: null }],
    ["Python None (org.json reads it as the string \"None\")", "{'TICKETID': None}", { TICKETID: 'None' }],
    ['numbers, bare and negative', "{'STARTINDEX': 0, 'LIMIT': 25, 'x': -1.5e2}", { STARTINDEX: 0, LIMIT: 25, x: -150 }],
    ['a bare word that is not a number stays text', '{a: 007, b: 1.}', { a: '007', b: '1.' }],
    ['trailing commas', "{'a': [1, 2,], 'b': {'c': 1,},}", { a: [1, 2], b: { c: 1 } }],
    ['";" between members', '{a: 1; b: 2}', { a: 1, b: 2 }],
    ['whitespace and line breaks between tokens', "{\n  'a' :\t[ 'x' ,\r\n 'y' ]\n}\n", { a: ['x', 'y'] }],
    ['empty object and array', '{a: {}, b: []}', { a: {}, b: [] }],
    ['non-ASCII text', "{'REASON': 'Wartung für Überprüfung'}", { REASON: 'Wartung für Überprüfung' }],
  ])('%s', (_title, text, expected) => {
    expect(parse(text)).toEqual(expected);
  });

  it('keeps "__proto__" as a plain key (no prototype is touched)', () => {
    const v = parseInputDataText("{'__proto__': {'polluted': 'yes'}, 'constructor': 1}")!;
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(v)).toBeNull();
  });
});

describe('parseInputDataText: refused forms', () => {
  it.each([
    ['empty', ''],
    ['not an object at the root', "['a']"],
    ['a bare root', 'operation'],
    ['unterminated object', "{'a': 1"],
    ['unterminated string', "{'a': 'b}"],
    ['a line break inside a string', "{'a': 'b\nc'}"],
    ["Python's \\x escape (org.json has none)", "{'a': '\\x41'}"],
    ['a bad \\u escape', "{'a': '\\u12'}"],
    ['a duplicate key', "{'a': 1, 'a': 2}"],
    ['a missing value', '{a: }'],
    ['a missing colon', "{'a' 1}"],
    ['"=" instead of ":"', '{a = 1}'],
    ['an object as a key', '{{a: 1}: 2}'],
    ['text after the root object', "{'a': 1} trailing"],
    ['two separators', '{a: 1,, b: 2}'],
    ['a leading comma in an array', '{a: [,1]}'],
    ['a comment', '{a: 1 /* note */}'],
  ])('%s', (_title, text) => {
    expect(parseInputDataText(text)).toBeUndefined();
  });

  it(`is bounded: ${INPUT_DATA_MAX_DEPTH} levels and ${INPUT_DATA_MAX_CHARS} characters`, () => {
    const nested = (depth: number): string => '{a:'.repeat(depth) + '1' + '}'.repeat(depth);
    expect(parseInputDataText(nested(INPUT_DATA_MAX_DEPTH))).toBeDefined();
    expect(parseInputDataText(nested(INPUT_DATA_MAX_DEPTH + 1))).toBeUndefined();
    const arrays = '{a:' + '['.repeat(INPUT_DATA_MAX_DEPTH) + ']'.repeat(INPUT_DATA_MAX_DEPTH) + '}';
    expect(parseInputDataText(arrays)).toBeUndefined();
    const filler = (n: number): string => `{'REASON': '${'x'.repeat(n)}'}`;
    expect(parseInputDataText(filler(INPUT_DATA_MAX_CHARS - 14))).toBeDefined();
    expect(parseInputDataText(filler(INPUT_DATA_MAX_CHARS - 13))).toBeUndefined();
  });

  it('takes a hostile nesting attempt in bounded time and without a stack overflow', () => {
    expect(parseInputDataText('{a:' + '['.repeat(20_000))).toBeUndefined();
    expect(parseInputDataText('['.repeat(INPUT_DATA_MAX_CHARS))).toBeUndefined();
  });
});

describe('inputDetails and detailText', () => {
  const params = (raw: string | null): URLSearchParams => (raw === null ? new URLSearchParams() : new URLSearchParams({ INPUT_DATA: raw }));

  it('gives operation.Details, {} without INPUT_DATA or Details, undefined when malformed', () => {
    expect(inputDetails(undefined)).toEqual({});
    expect(inputDetails(params(null))).toEqual({});
    expect(inputDetails(params("{'operation': {}}"))).toEqual({});
    expect(inputDetails(params("{'operation': {'Details': 'text'}}"))).toEqual({});
    expect(inputDetails(params('{not json'))).toBeUndefined();
    expect(JSON.parse(JSON.stringify(inputDetails(params("{'operation': {'Details': {'REASON': 'r'}}}"))))).toEqual({ REASON: 'r' });
  });

  it('reads a value as text: strings trimmed, numbers written, anything else empty', () => {
    const d = inputDetails(params("{'operation': {'Details': {'a': ' x ', 'b': 42, 'c': True, 'd': None, 'e': [1]}}}"))!;
    expect(['a', 'b', 'c', 'd', 'e', 'missing'].map((k) => detailText(d, k))).toEqual(['x', '42', '', 'None', '', '']);
  });
});

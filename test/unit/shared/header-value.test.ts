import { isHeaderValue } from '../../../src/shared/header-value.js';

describe('isHeaderValue: what the orgName header can carry byte for byte', () => {
  it.each(['Acme', 'a', 'Acme Corp (EU) #2', 'Société Générale', 'Müller & Söhne', 'ÿ', 'x'.repeat(256), 'inner  spaces'])('accepts %j', (v) => {
    expect(isHeaderValue(v)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['only a space', ' '],
    ['a leading space', ' Acme'],
    ['a trailing space', 'Acme '],
    ['a no-break space at the end', 'Acme\u00a0'],
    ['CR LF (header injection)', 'Acme\r\nX-Evil: 1'],
    ['a tab', 'a\tb'],
    ['NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['a C1 control', 'a\u0085b'],
    ['Cyrillic (above U+00FF)', 'Завод'],
    ['CJK', '株式会社'],
    ['an emoji (a surrogate pair)', 'Acme 🙂'],
    ['257 characters', 'x'.repeat(257)],
  ])('refuses %s', (_name, v) => {
    expect(isHeaderValue(v)).toBe(false);
  });
});

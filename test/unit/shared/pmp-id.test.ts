import { isPmpId } from '../../../src/shared/pmp-id.js';
import { isPmpId as fromIndex } from '../../../src/shared/index.js';

describe('isPmpId', () => {
  it.each(['0', '1', '301', '902', '000123', '9'.repeat(18), '922337203685477580'])('accepts %j', (id) => {
    expect(isPmpId(id)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['19 digits, past what always fits a Java long', '1'.repeat(19)],
    ['Long.MAX_VALUE + 1', '9223372036854775808'],
    ['a name', 'Windows_Jump_Box'],
    ['a path', '301/../1'],
    ['a query', '1?AUTHTOKEN=x'],
    ['a leading space', ' 1'],
    ['a trailing space', '1 '],
    ['a trailing newline', '1\n'],
    ['a sign', '-1'],
    ['a decimal point', '1.0'],
    ['hexadecimal', '0x1F'],
    ['an exponent', '1e3'],
    ['full-width digits', '１２'],
    ['Arabic-Indic digits', '١٢'],
  ])('refuses %s (%j)', (_what, value) => {
    expect(isPmpId(value)).toBe(false);
  });

  it('is the one exported by shared/index', () => {
    expect(fromIndex).toBe(isPmpId);
  });
});

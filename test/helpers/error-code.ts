import { GatewayError, type ErrorCode } from '../../src/shared/errors.js';

/** The code of the GatewayError `p` rejects with; fails the test when it resolves or rejects with anything else. */
export async function codeOf(p: Promise<unknown>): Promise<ErrorCode> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err.code;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

/** The code of the GatewayError `fn` throws, or 'no error' when it returns; anything else thrown fails the test. */
export function codeOfCall(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err.code;
    throw err;
  }
  return 'no error';
}

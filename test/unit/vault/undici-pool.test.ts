import { Pool as PublicPool } from 'undici';
import { Pool } from '../../../src/vault/undici-pool.js';

describe('undici Pool loaded from its own module', () => {
  it('is the very class undici exports', () => {
    expect(Pool).toBe(PublicPool);
  });
});

import { describeTokenKind, otherTokenKindHint, tokenHeaderName, tokenHeaders } from '../../../src/vault/auth-headers.js';

describe('auth headers by token kind (protocol section 9)', () => {
  it('an API user key is AUTHTOKEN alone', () => {
    const p = { tokenKind: 'apiUser', appName: 'credgw', name: 'pmp' } as const;
    expect(tokenHeaders(p, 'k-1')).toEqual({ AUTHTOKEN: 'k-1' });
    expect(tokenHeaderName(p)).toBe('AUTHTOKEN');
    expect(describeTokenKind(p)).toBe("an API user's key (AUTHTOKEN header)");
    expect(otherTokenKindHint(p)).toBe(
      'if this token is a PAM360 integration token, set tokenKind "integration": credgw config set vaults.pmp.tokenKind integration',
    );
  });

  it('an integration token is APP_AUTHTOKEN with APP_NAME', () => {
    const p = { tokenKind: 'integration', appName: 'ITOM Gateway', name: 'pmp.prod' } as const;
    expect(tokenHeaders(p, 't-1')).toEqual({ APP_AUTHTOKEN: 't-1', APP_NAME: 'ITOM Gateway' });
    expect(tokenHeaderName(p)).toBe('APP_AUTHTOKEN');
    expect(describeTokenKind(p)).toBe('an integration token (APP_AUTHTOKEN header, APP_NAME "ITOM Gateway")');
    // A profile name with dots needs the bracket form of the key path.
    expect(otherTokenKindHint(p)).toBe(
      'if this token is an API user\'s key, set tokenKind "apiUser": credgw config set \'vaults["pmp.prod"].tokenKind\' apiUser',
    );
  });
});

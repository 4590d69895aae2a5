import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * contrib/reset-listener/credgw-notify.ps1, checked by reading it: Debian
 * has no PowerShell package, so unless `pwsh` is on this machine the
 * script is not run here (the parse check below runs only where it is).
 * What is checked: the vault's arguments leave `$args` first thing; the
 * copy is read only for the non-secret roles (the password roles are
 * skipped before any read) and cleared; nothing in the script starts a
 * process, writes a file or prints through a PowerShell stream; the body is
 * built from the names and the time only; the token goes into the
 * Authorization header and nowhere else.
 */

const PATH = join(process.cwd(), 'contrib/reset-listener/credgw-notify.ps1');
const text = readFileSync(PATH, 'utf8');
const PWSH = spawnSync('sh', ['-c', 'command -v pwsh'], { encoding: 'utf8' }).stdout.trim();

/** The script without comments and here-strings (the C# is checked on its own). */
function code(): string[] {
  const noHereString = text.replace(/@'\r?\n[\s\S]*?\r?\n'@/g, "@''@");
  return noHereString.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

function csharp(): string {
  return /@'\r?\n([\s\S]*?)\r?\n'@/.exec(text)?.[1] ?? '';
}

describe('credgw-notify.ps1 (static checks)', () => {
  it('moves the arguments out of $args before anything else, and $args is not read again', () => {
    const lines = code();
    expect(lines[0]).toBe('$vaultArgs = [string[]]@($args)');
    expect(lines[1]).toBe('for ($i = 0; $i -lt $args.Count; $i++) { $args[$i] = $null }');
    expect(lines.slice(2).filter((l) => /\$args\b/i.test(l))).toEqual([]);
  });

  it('reads the copy only for non-secret roles, after skipping old/new/skip, then clears and removes it', () => {
    const lines = code();
    const uses = lines.map((l, i) => ({ l: l.trim(), i })).filter(({ l }) => /\$vaultArgs\b|vaultArgs\b/.test(l));
    expect(uses.map((u) => u.l)).toEqual([
      '$vaultArgs = [string[]]@($args)',
      "$value = if ($i -lt $vaultArgs.Length -and $null -ne $vaultArgs[$i]) { $vaultArgs[$i] } else { '' }",
      '[Array]::Clear($vaultArgs, 0, $vaultArgs.Length)',
      'Remove-Variable -Name vaultArgs',
    ]);
    const skip = lines.findIndex((l) => l.includes("if ($role -in @('old', 'new', 'skip')) { continue }"));
    expect(skip).toBeGreaterThan(0);
    expect(skip).toBeLessThan(uses[1]!.i);
    // $value holds an argument only inside the loop, and is dropped after it.
    expect(lines.findIndex((l) => l.trim() === '$value = $null')).toBe(uses[2]!.i - 1);
    // The roles that keep a value are only the non-secret ones.
    const kept = lines.filter((l) => /^\s*'\w+' \{ \$\w+ = \$value \}$/.test(l)).map((l) => l.trim());
    expect(kept).toEqual(["'resource' { $resource = $value }", "'dns' { $dns = $value }", "'account' { $account = $value }", "'mode' { $mode = $value }"]);
  });

  it('starts no process, writes no file, uses no PowerShell output stream', () => {
    const forbidden =
      /Start-Process|Invoke-Expression|\biex\b|Invoke-WebRequest|Invoke-RestMethod|\bcurl(\.exe)?\s+-|\bwget\b|cmd(\.exe)?\b|powershell(\.exe)?\b|^\s*&|\|\s*&|Out-File|Set-Content|Add-Content|Export-|Tee-Object|Start-Transcript|Write-Host|Write-Output|Write-Verbose|Write-Debug|Write-Information|Write-Warning|Out-Host|Out-Default|\bechoargs\b|>\s*\S/i;
    expect(code().filter((l) => forbidden.test(l))).toEqual([]);
  });

  it('builds the body from the vault, the names and the time only', () => {
    const bodyLines = code().filter((l) => /\$notice\b/.test(l));
    const variables = new Set(bodyLines.flatMap((l) => [...l.matchAll(/\$(\w+)/g)].map((m) => m[1]!.toLowerCase())));
    expect([...variables].sort()).toEqual(['account', 'body', 'dns', 'notice', 'resource', 'vault']);
  });

  it('puts the token in the Authorization header only', () => {
    const uses = code()
      .filter((l) => /\$token\b/.test(l))
      .map((l) => l.trim());
    expect(uses).toEqual([
      '$token = ([System.IO.File]::ReadAllLines($tokenFile) | Select-Object -First 1)',
      "if ($null -eq $token -or $token.Trim() -eq '') { Fail \"the token file $tokenFile is empty\" }",
      '$token = $token.Trim()',
      "$req.Headers.Add('Authorization', \"Bearer $token\")",
      '$token = $null',
    ]);
  });

  it('checks the pin on the SubjectPublicKeyInfo and writes nothing from the C# side', () => {
    const cs = csharp();
    expect(cs).toContain('subjectPublicKeyInfo');
    expect(cs).toContain('SHA256.Create()');
    expect(cs).not.toMatch(/Console|File\.|Process/);
  });

  // Debian ships no PowerShell: where pwsh is missing this is skipped and the static checks above stand in.
  (PWSH ? it : it.skip)('parses in PowerShell (pwsh)', () => {
    const r = spawnSync(
      PWSH,
      ['-NoProfile', '-NonInteractive', '-Command', `$e=$null; [void][System.Management.Automation.Language.Parser]::ParseFile('${PATH}', [ref]$null, [ref]$e); $e.Count`],
      { encoding: 'utf8' },
    );
    expect(r.stdout.trim()).toBe('0');
  });
});

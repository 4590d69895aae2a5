# credgw-notify.ps1: a Password Reset Listener for ManageEngine PMP and
# PAM360 on Windows that tells the credgw gateways a password changed, so
# the cloud learns of the rotation (credgw docs/pmp-admin.md; protocol
# section 12). Windows PowerShell 5.1 or PowerShell 7.
#
# PMP runs it after each password reset of the resource types it is
# configured for (Pre-Command: powershell.exe -NoProfile -NonInteractive
# -ExecutionPolicy Bypass -File), with the arguments (legacy PMP order):
#     resource-name dns-name account-name old-password new-password
# It drops the two passwords before anything else: they are never printed,
# never given to another program, and never written to a file. It then
# POSTs resource, DNS name, account and the time, as JSON, over HTTPS to
# each gateway of the pair, and exits 0 when at least one gateway took the
# notice (HTTP 202), 1 when none did, 2 when the configuration or the
# arguments are wrong.
#
# Files beside this script (same folder):
#   credgw-notify.conf   the configuration (or the path in $env:CREDGW_NOTIFY_CONF)
#   credgw-notify.token  the gateways' notices token, alone on the first line;
#                        readable only by the account PMP runs as, and Administrators
#
# credgw-notify.conf: KEY=VALUE lines, the same file as for credgw-notify.sh;
# blank lines and lines starting with # are skipped.
#   VAULT=pmp-prod
#       The vault profile's name on the gateways (required).
#   GATEWAY=https://gw-a.corp.local:9470 sha256//<pin>
#   GATEWAY=https://gw-b.corp.local:9470 cafile:C:\credgw-notify\gw-b.crt
#       One line per gateway (at least one; both of the pair). After the
#       URL, how to trust the gateway: its SPKI pin as `credgw status`
#       prints it (sha256//...; checked instead of a CA), or cafile:PATH
#       (a PEM CA or the gateway's own certificate), or nothing for the
#       Windows certificate store.
#   TOKEN_FILE=credgw-notify.token
#       Default as shown; a relative path is taken from this script's folder.
#   TIMEOUT=5
#       Seconds allowed per gateway. Default 5.
#   ARGS=resource dns account old new
#       The order in which the vault passes its arguments, one name per
#       argument: resource, dns, account, old, new (the passwords: dropped),
#       mode (PAM360's pre/post mode: a pre-reset run sends nothing),
#       skip (ignored). Arguments past the list are dropped unread.
#       Default: the legacy PMP order shown.
#   CURL=   (read by credgw-notify.sh only; ignored here)

# 1. Before anything else: take the arguments out of $args into a private
# array and blank $args. Only the names, the DNS name and the mode are kept
# once the order is known (step 3).
$vaultArgs = [string[]]@($args)
for ($i = 0; $i -lt $args.Count; $i++) { $args[$i] = $null }

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

function Fail([string]$Message) {
    [Console]::Error.WriteLine("credgw-notify: $Message")
    exit 2
}

# 2. The configuration.
$dir = Split-Path -Parent $MyInvocation.MyCommand.Path
$conf = if ($env:CREDGW_NOTIFY_CONF) { $env:CREDGW_NOTIFY_CONF } else { Join-Path $dir 'credgw-notify.conf' }
$vault = ''
$gateways = New-Object System.Collections.Generic.List[string]
$tokenFile = 'credgw-notify.token'
$timeout = 5
$argsOrder = 'resource dns account old new'
if (-not (Test-Path -LiteralPath $conf -PathType Leaf)) { Fail "cannot read $conf" }
foreach ($line in [System.IO.File]::ReadAllLines($conf)) {
    $line = $line.TrimEnd("`r")
    if ($line -eq '' -or $line.StartsWith('#')) { continue }
    $eq = $line.IndexOf('=')
    if ($eq -lt 0) { Fail "${conf}: not KEY=VALUE: a line without =" }
    $key = $line.Substring(0, $eq)
    $setting = $line.Substring($eq + 1)
    switch -CaseSensitive ($key) {
        'VAULT' { $vault = $setting }
        'GATEWAY' { $gateways.Add($setting) }
        'TOKEN_FILE' { $tokenFile = $setting }
        'TIMEOUT' { if ($setting -notmatch '^[0-9]+$') { Fail "${conf}: TIMEOUT must be a number of seconds" }; $timeout = [int]$setting }
        'ARGS' { $argsOrder = $setting }
        'CURL' { }
        default { Fail "${conf}: unknown key $key" }
    }
}
if ($vault -eq '') { Fail "${conf}: VAULT is required" }
if ($gateways.Count -eq 0) { Fail "${conf}: at least one GATEWAY is required" }

# 3. Keep what the order names, then forget every argument.
$resource = ''; $dns = ''; $account = ''; $mode = ''; $badRole = ''
$roles = $argsOrder -split '[\s,]+' | Where-Object { $_ -ne '' }
for ($i = 0; $i -lt $roles.Count; $i++) {
    $role = $roles[$i]
    if ($role -in @('old', 'new', 'skip')) { continue }
    $value = if ($i -lt $vaultArgs.Length -and $null -ne $vaultArgs[$i]) { $vaultArgs[$i] } else { '' }
    switch -CaseSensitive ($role) {
        'resource' { $resource = $value }
        'dns' { $dns = $value }
        'account' { $account = $value }
        'mode' { $mode = $value }
        default { $badRole = $role }
    }
}
$value = $null
[Array]::Clear($vaultArgs, 0, $vaultArgs.Length)
Remove-Variable -Name vaultArgs
if ($badRole -ne '') { Fail "${conf}: ARGS: unknown name $badRole (resource dns account old new mode skip)" }

if ($mode -match '^pre') {
    [Console]::Error.WriteLine('credgw-notify: pre-reset run: nothing changed yet, no notice')
    exit 0
}
if ($resource -eq '') { Fail "no resource name in the arguments (ARGS=$argsOrder)" }
if ($account -eq '') { Fail "no account name in the arguments (ARGS=$argsOrder)" }

if (-not [System.IO.Path]::IsPathRooted($tokenFile)) { $tokenFile = Join-Path $dir $tokenFile }
if (-not (Test-Path -LiteralPath $tokenFile -PathType Leaf)) { Fail "cannot read the token file $tokenFile" }
$token = ([System.IO.File]::ReadAllLines($tokenFile) | Select-Object -First 1)
if ($null -eq $token -or $token.Trim() -eq '') { Fail "the token file $tokenFile is empty" }
$token = $token.Trim()

# The pin and CA checks run on .NET's own threads, where a PowerShell
# script block cannot: they are compiled C#.
if (-not ('CredgwNotify.Trust' -as [type])) {
    Add-Type -TypeDefinition @'
using System;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
namespace CredgwNotify {
  public static class Trust {
    public static RemoteCertificateValidationCallback Pin(string pin) {
      return delegate (object sender, X509Certificate cert, X509Chain chain, SslPolicyErrors errors) {
        return cert != null && SpkiPin(cert.GetRawCertData()) == pin;
      };
    }
    public static RemoteCertificateValidationCallback CaFile(string path) {
      X509Certificate2 ca = new X509Certificate2(path);
      return delegate (object sender, X509Certificate cert, X509Chain chain, SslPolicyErrors errors) {
        if (cert == null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
        X509Certificate2 server = new X509Certificate2(cert);
        if (server.Thumbprint == ca.Thumbprint) return true;
        X509Chain own = new X509Chain();
        own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        own.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
        own.ChainPolicy.ExtraStore.Add(ca);
        if (!own.Build(server)) return false;
        X509Certificate2 root = own.ChainElements[own.ChainElements.Count - 1].Certificate;
        return root.Thumbprint == ca.Thumbprint;
      };
    }
    // base64 SHA-256 of the certificate's SubjectPublicKeyInfo, read from its DER.
    public static string SpkiPin(byte[] der) {
      int p = 0;
      Enter(der, ref p);                    // Certificate
      Enter(der, ref p);                    // tbsCertificate
      if (der[p] == 0xA0) Skip(der, ref p); // [0] version
      for (int n = 0; n < 5; n++) Skip(der, ref p); // serial, signature, issuer, validity, subject
      int start = p;
      Skip(der, ref p);                     // subjectPublicKeyInfo
      byte[] spki = new byte[p - start];
      Array.Copy(der, start, spki, 0, spki.Length);
      using (SHA256 sha = SHA256.Create()) return Convert.ToBase64String(sha.ComputeHash(spki));
    }
    static int Length(byte[] d, ref int p) {
      int b = d[p++];
      if (b < 0x80) return b;
      int len = 0;
      for (int i = 0; i < (b & 0x7f); i++) len = (len << 8) | d[p++];
      return len;
    }
    static void Enter(byte[] d, ref int p) { p++; Length(d, ref p); }
    static void Skip(byte[] d, ref int p) { p++; int len = Length(d, ref p); p += len; }
  }
}
'@
}

$notice = [ordered]@{ vault = $vault; resourceName = $resource; accountName = $account }
if ($dns -ne '') { $notice['dnsName'] = $dns }
$notice['rotatedAt'] = [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture)
$body = [System.Text.Encoding]::UTF8.GetBytes(($notice | ConvertTo-Json -Compress))

[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

# 4. Each gateway in turn; the notice is taken when one answers 202.
$taken = 0
$tried = 0
foreach ($gw in $gateways) {
    $tried++
    $parts = $gw.Trim() -split '\s+', 2
    $url = $parts[0].TrimEnd('/')
    $trust = if ($parts.Count -gt 1) { $parts[1] } else { '' }
    if (-not $url.StartsWith('https://')) { [Console]::Error.WriteLine("credgw-notify: ${url}: not an https:// URL, skipped"); continue }
    $code = 0
    try {
        $req = [System.Net.HttpWebRequest]::Create("$url/v1/notices/rotation")
        if ($trust.StartsWith('sha256//')) { $req.ServerCertificateValidationCallback = [CredgwNotify.Trust]::Pin($trust.Substring(8)) }
        elseif ($trust.StartsWith('cafile:')) { $req.ServerCertificateValidationCallback = [CredgwNotify.Trust]::CaFile($trust.Substring(7)) }
        elseif ($trust -ne '') { [Console]::Error.WriteLine("credgw-notify: ${url}: unknown trust (sha256//PIN or cafile:PATH), skipped"); continue }
        $req.Method = 'POST'
        $req.ContentType = 'application/json'
        $req.Timeout = $timeout * 1000
        $req.ReadWriteTimeout = $timeout * 1000
        $req.KeepAlive = $false
        $req.Headers.Add('Authorization', "Bearer $token")
        $req.ContentLength = $body.Length
        $stream = $req.GetRequestStream()
        $stream.Write($body, 0, $body.Length)
        $stream.Close()
        $resp = $req.GetResponse()
        $code = [int]$resp.StatusCode
        $resp.Close()
    } catch [System.Net.WebException] {
        if ($null -ne $_.Exception.Response) { $code = [int]$_.Exception.Response.StatusCode; $_.Exception.Response.Close() }
        else { [Console]::Error.WriteLine("credgw-notify: ${url}: $($_.Exception.Status)") }
    } catch {
        [Console]::Error.WriteLine("credgw-notify: ${url}: $($_.Exception.GetType().Name)")
    }
    if ($code -eq 202) {
        $taken++
        [Console]::Error.WriteLine("credgw-notify: ${url}: notice taken")
    } else {
        [Console]::Error.WriteLine("credgw-notify: ${url}: not taken (HTTP $code)")
    }
}
$token = $null

[Console]::Error.WriteLine("credgw-notify: $taken/$tried gateways took the notice for $resource / $account")
if ($taken -gt 0) { exit 0 } else { exit 1 }

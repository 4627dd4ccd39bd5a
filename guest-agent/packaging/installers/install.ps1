<#
.SYNOPSIS
  Installs the single-file ATP guest agent on Windows.
.DESCRIPTION
  Copies the executable to "$env:ProgramFiles\ATP\atp-agent.exe", writes
  "$env:ProgramData\ATP\agent.yaml" only when none exists, and registers the
  scheduled task "ATP Agent" that starts the agent at every user logon, in that
  user's interactive session. Not a service: low-level keyboard and mouse hooks
  only see the input of the desktop of the session they run in, and services
  run in session 0. Idempotent: a second run with the same inputs changes
  nothing. Prints what it did. Run from an elevated PowerShell.
.PARAMETER Binary
  The executable (default: atp-agent-win-x64.exe next to this script).
.PARAMETER Config
  Initial agent.yaml (default: a TCP template written here); an existing one is never overwritten.
.PARAMETER TokenFile
  Initial token file, copied to "$env:ProgramData\ATP\token" unless one exists.
.PARAMETER StartNow
  Also start the task now (for the users logged on).
#>
[CmdletBinding()]
param(
  [string]$Binary = (Join-Path $PSScriptRoot 'atp-agent-win-x64.exe'),
  [string]$Config = '',
  [string]$TokenFile = '',
  [switch]$StartNow
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$TaskName = 'ATP Agent'
$InstallDir = Join-Path $env:ProgramFiles 'ATP'
$DataDir = Join-Path $env:ProgramData 'ATP'
$Exe = Join-Path $InstallDir 'atp-agent.exe'
$ConfigPath = Join-Path $DataDir 'agent.yaml'
$TokenPath = Join-Path $DataDir 'token'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'install.ps1 must run elevated (as Administrator).'
}
if (-not (Test-Path -LiteralPath $Binary -PathType Leaf)) { throw "agent executable not found: $Binary" }
if ($TokenFile -ne '' -and -not (Test-Path -LiteralPath $TokenFile -PathType Leaf)) { throw "token file not found: $TokenFile" }

New-Item -ItemType Directory -Force -Path $InstallDir, $DataDir | Out-Null

# The executable: replaced only when its content differs (running agents are stopped first: the file is locked).
$same = (Test-Path -LiteralPath $Exe) -and ((Get-FileHash -LiteralPath $Exe).Hash -eq (Get-FileHash -LiteralPath $Binary).Hash)
if ($same) {
  Write-Output "unchanged  $Exe"
} else {
  Get-Process -Name 'atp-agent' -ErrorAction SilentlyContinue | Where-Object { $_.Path -eq $Exe } | Stop-Process -Force
  Copy-Item -LiteralPath $Binary -Destination $Exe -Force
  Write-Output "installed  $Exe"
}

# Configuration and token: written once, never overwritten.
if (Test-Path -LiteralPath $ConfigPath) {
  Write-Output "kept       $ConfigPath (exists; not overwritten)"
} elseif ($Config -ne '') {
  Copy-Item -LiteralPath $Config -Destination $ConfigPath
  Write-Output "created    $ConfigPath"
} else {
  $template = @(
    '# ATP guest agent configuration (every key: guest-agent/README.md "Configuration").',
    '# A Windows guest usually reaches the host over TCP or WebSocket: set the',
    '# hub address the host listens on (atp-host), e.g. 10.0.2.2:PORT with user networking.',
    'link: tcp',
    'endpoint: 10.0.2.2:1',
    "tokenFile: $($TokenPath -replace '\\', '/')",
    'capture: windows-hooks',
    'logLevel: info'
  )
  Set-Content -LiteralPath $ConfigPath -Value $template -Encoding ascii
  Write-Output "created    $ConfigPath (template: set endpoint and the token)"
}
if ($TokenFile -ne '') {
  if (Test-Path -LiteralPath $TokenPath) { Write-Output "kept       $TokenPath (exists; not overwritten)" }
  else { Copy-Item -LiteralPath $TokenFile -Destination $TokenPath; Write-Output "created    $TokenPath" }
}

# The logon task: every user who logs on runs the agent in their own session.
$arguments = "run --config `"$ConfigPath`""
$existing = Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
$current = $false
if ($null -ne $existing) {
  $action0 = @($existing.Actions)[0]
  $current = ($action0.Execute -eq $Exe) -and ($action0.Arguments -eq $arguments) -and ($existing.Principal.GroupId -match 'Users$')
}
if ($current) {
  Write-Output "unchanged  scheduled task '$TaskName'"
} else {
  $action = New-ScheduledTaskAction -Execute $Exe -Argument $arguments -WorkingDirectory $DataDir
  $trigger = New-ScheduledTaskTrigger -AtLogOn
  $taskPrincipal = New-ScheduledTaskPrincipal -GroupId 'S-1-5-32-545' -RunLevel Limited
  $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) `
    -MultipleInstances IgnoreNew -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -Hidden
  Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Principal $taskPrincipal -Settings $settings `
    -Description 'ATP guest agent: reports the keyboard and mouse input this session observed to the ATP host.' -Force | Out-Null
  Write-Output "registered scheduled task '$TaskName' (at logon, every user, own session)"
}
if ($StartNow) {
  Start-ScheduledTask -TaskName $TaskName
  Write-Output "started    scheduled task '$TaskName'"
}
$version = & $Exe --version
Write-Output "atp-agent $version ready"

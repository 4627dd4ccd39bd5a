<#
.SYNOPSIS
  Removes the ATP guest agent installed by install.ps1.
.DESCRIPTION
  Unregisters the "ATP Agent" scheduled task, stops running agents and removes
  "$env:ProgramFiles\ATP". With -Purge also removes "$env:ProgramData\ATP"
  (configuration and token). Idempotent; prints what it did. Run elevated.
#>
[CmdletBinding()]
param([switch]$Purge)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$TaskName = 'ATP Agent'
$InstallDir = Join-Path $env:ProgramFiles 'ATP'
$DataDir = Join-Path $env:ProgramData 'ATP'
$Exe = Join-Path $InstallDir 'atp-agent.exe'

if ($null -ne (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue)) {
  Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
  Write-Output "removed    scheduled task '$TaskName'"
} else {
  Write-Output "absent     scheduled task '$TaskName'"
}
$running = @(Get-Process -Name 'atp-agent' -ErrorAction SilentlyContinue | Where-Object { $_.Path -eq $Exe })
if ($running.Count -gt 0) {
  $running | Stop-Process -Force
  Write-Output "stopped    $($running.Count) running agent(s)"
}
if (Test-Path -LiteralPath $InstallDir) {
  Remove-Item -LiteralPath $InstallDir -Recurse -Force
  Write-Output "removed    $InstallDir"
} else {
  Write-Output "absent     $InstallDir"
}
if ($Purge) {
  if (Test-Path -LiteralPath $DataDir) { Remove-Item -LiteralPath $DataDir -Recurse -Force; Write-Output "removed    $DataDir" }
  else { Write-Output "absent     $DataDir" }
} elseif (Test-Path -LiteralPath $DataDir) {
  Write-Output "kept       $DataDir (use -Purge to remove)"
}

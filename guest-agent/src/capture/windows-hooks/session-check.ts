/**
 * Whether the agent runs where low-level hooks can see the user's input. Hooks
 * see the input of the desktop of the session the process runs in: in session 0
 * (a service) they see nothing a user types, and when the input desktop cannot
 * be opened (the secure desktop of UAC or the logon screen, or no interactive
 * desktop at all) they see nothing until it comes back. The agent keeps running
 * and says so once (log, hello, host) instead of reporting a silent guest. Pure.
 */
import { AtpError } from '@atp/protocol';
import type { DesktopInfo } from './win32-api.js';

export function sessionProblem(d: DesktopInfo): AtpError | undefined {
  if (d.sessionId === 0) {
    return new AtpError(
      'ATP_CAPTURE_SESSION',
      "the agent runs in session 0 (a service): low-level hooks there never see the user's input. Run it in the user's logon session (install.ps1 registers a logon task)",
      { details: { ...d } },
    );
  }
  if (d.inputDesktop === null) {
    return new AtpError('ATP_CAPTURE_SESSION', 'the input desktop cannot be opened (secure desktop, locked or no interactive session): hooks see no input until it is back', { details: { ...d } });
  }
  if (d.sessionId !== null && d.consoleSessionId !== null && d.sessionId !== d.consoleSessionId) {
    return new AtpError('ATP_CAPTURE_SESSION', `the agent runs in session ${d.sessionId}, not the console session ${d.consoleSessionId}: it sees only input to its own session (a remote desktop session, say)`, { details: { ...d } });
  }
  return undefined;
}

/** The agent's version, as announced in hello and printed by --version (a test keeps it equal to package.json). */
export const AGENT_VERSION = '0.1.0';

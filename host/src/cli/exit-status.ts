/**
 * The CLI's exit codes: 0 ok, 2 usage or configuration error, 3 infrastructure
 * error (QEMU, the guest, apt, files). A file of their own so that command
 * definitions and exit-codes.ts can use them without importing program.ts.
 */
export const EXIT_OK = 0;
export const EXIT_USAGE = 2;
export const EXIT_INFRA = 3;

/** TLS material for display servers: a generated CA and server certificate in QEMU's x509-dir layout. */
export { generateX509Dir } from './x509-dir.js';
export type { X509Dir, X509DirOptions } from './x509-dir.js';
export { DEFAULT_X509_DAYS, X509_FILES, x509OptionProblem, x509Plan } from './openssl-args.js';
export type { X509Options, X509Plan } from './openssl-args.js';

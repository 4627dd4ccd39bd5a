/**
 * QEMU guest agent (QGA): codec, client, exec and file transfer. Re-exported by
 * the host's top-level index, so generic names get a `qga` prefix here.
 */
export { QGA_DELIMITER, QGA_MAX_REPLY_BYTES, QGA_MAX_SYNC_ID, QgaDecoder, decodeReplyLine, encodeCommand as encodeQgaCommand, encodeSyncDelimited } from './codec.js';
export type { QgaDecoded, QgaDecoderOptions, QgaReply } from './codec.js';
export { guestExecStatusSchema, guestInfoSchema, guestOsInfoSchema, qgaReplyEnvelopeSchema } from './messages.js';
export type { GuestExecStatus, GuestInfo, GuestOsInfo } from './messages.js';
export { qgaCommandError } from './errors.js';
export { executeParsed as qgaExecuteParsed } from './executor.js';
export type { QgaExecuteOptions, QgaExecutor } from './executor.js';
export { info as qgaInfo, osInfo as qgaOsInfo, ping as qgaPing } from './commands.js';
export type { QgaInfo } from './commands.js';
export { DEFAULT_EXEC_DEADLINE_MS as QGA_DEFAULT_EXEC_DEADLINE_MS, exec as qgaExec } from './exec.js';
export type { ExecOptions as QgaExecOptions, ExecResult as QgaExecResult } from './exec.js';
export { DEFAULT_CHUNK_BYTES as QGA_DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES as QGA_MAX_CHUNK_BYTES, download as qgaDownload, downloadTo as qgaDownloadTo, upload as qgaUpload } from './files.js';
export type { DownloadOptions as QgaDownloadOptions, TransferOptions as QgaTransferOptions, UploadOptions as QgaUploadOptions, UploadResult as QgaUploadResult } from './files.js';
export { QgaClient } from './client.js';
export type { QgaClientOptions, QgaDiscardEvent, QgaDiscardStats, QgaTarget } from './client.js';

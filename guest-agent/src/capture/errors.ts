/**
 * Error codes of the capture backends (documented in protocol-schemas/src/errors.ts).
 */
import { AtpError, type AtpErrorOptions } from '@atp/protocol';

export type CaptureErrorCode = 'ATP_CAPTURE_DEVICE_LIST' | 'ATP_CAPTURE_DEVICE_OPEN' | 'ATP_CAPTURE_DEVICE_READ' | 'ATP_CAPTURE_DEVICE_LIMIT' | 'ATP_CAPTURE_SESSION';

export function captureError(code: CaptureErrorCode, message: string, options: AtpErrorOptions = {}): AtpError {
  return new AtpError(code, message, options);
}

import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { newRequestId } from '../logging/http-logging';
import { type ApiError, BadRequestError, HeadersTooLargeError, RequestTimeoutError } from './api-error';

/**
 * Requests Node's HTTP parser rejects (a control byte in a header, headers over the size limit,
 * headers that never finish) never reach Express: Node would answer a bare 400 with no body.
 * This answers them in Warden's error shape instead, with a request id the log line repeats,
 * and closes the connection, whose framing can no longer be trusted.
 */
export function answerClientErrors(server: Server, logger: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) => {
    // The peer is gone, or a response is already under way on this connection: nothing to answer.
    if (
      error.code === 'ECONNRESET' ||
      !socket.writable ||
      (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
    ) {
      socket.destroy();
      return;
    }
    const apiError = toApiError(error);
    const requestId = newRequestId();
    const body = JSON.stringify(apiError.toBody(requestId));
    logger.warn(
      { req: { id: requestId }, res: { status: apiError.status }, err_code: error.code },
      `unparsable request ${apiError.status}`,
    );
    socket.end(
      [
        `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}`,
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        `X-Request-Id: ${requestId}`,
        'X-Content-Type-Options: nosniff',
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    );
  });
}

function toApiError(error: NodeJS.ErrnoException & { reason?: string }): ApiError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HeadersTooLargeError('The request headers are larger than the server accepts.', 'HEADERS_TOO_LARGE');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new RequestTimeoutError('The request headers did not arrive in time.', 'REQUEST_TIMEOUT');
    default:
      // Node's parser names the problem ("Invalid header value char"); it quotes none of the request.
      return new BadRequestError(`The request is not valid HTTP${error.reason ? ` (${error.reason})` : ''}.`, 'MALFORMED_HTTP');
  }
}

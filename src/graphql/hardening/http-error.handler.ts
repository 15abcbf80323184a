import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';

/** What body-parser (and http-errors) attach to the errors it passes to `next`. */
interface HttpError {
  readonly status?: unknown;
  readonly expose?: unknown;
  readonly type?: unknown;
}

const httpErrorOf = (err: unknown): HttpError => (typeof err === 'object' && err !== null ? (err as HttpError) : {});

/**
 * Express's last word on the GraphQL path: errors raised before Apollo answers (a body over the
 * limit, JSON that does not parse) become GraphQL-shaped JSON instead of Express's HTML page, and
 * anything unexpected is logged and shown as a generic message, never with a stack trace.
 */
export function graphqlHttpErrorHandler(options: { readonly logger: Logger; readonly maxBodyBytes: number }): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const http = httpErrorOf(err);
    const status = typeof http.status === 'number' ? http.status : 500;
    if (http.type === 'entity.too.large' || status === 413) {
      res.status(413).json({
        errors: [
          {
            message: `The request body is larger than the ${options.maxBodyBytes} bytes allowed`,
            extensions: { code: 'LIMIT_EXCEEDED', limit: 'maxBodyBytes', max: options.maxBodyBytes },
          },
        ],
      });
      return;
    }
    if (status >= 400 && status < 500 && http.expose === true) {
      const message = http.type === 'entity.parse.failed' ? 'The request body is not valid JSON' : err instanceof Error ? err.message : 'Bad request';
      res.status(status).json({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
      return;
    }
    options.logger.error({ err }, 'unexpected error on the GraphQL endpoint');
    res.status(500).json({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  };
}

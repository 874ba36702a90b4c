/**
 * Operational errors with a stable `code` (shown to clients) and an HTTP status.
 * The `message` is an i18n key or plain text; the error handler translates keys.
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields?: Record<string, string>;
  readonly params?: Record<string, string | number>;
  readonly isOperational = true;

  constructor(status: number, code: string, message: string, opts: { fields?: Record<string, string>; params?: Record<string, string | number>; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.status = status;
    this.code = code;
    this.fields = opts.fields;
    this.params = opts.params;
  }
}

export class ValidationError extends AppError {
  constructor(fields: Record<string, string>, message = 'errors.validation') {
    super(400, 'validation_failed', message, { fields });
  }
}

export class NotFoundError extends AppError {
  constructor(what = 'resource') {
    super(404, 'not_found', 'errors.not_found', { params: { what } });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'errors.unauthorized') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'errors.forbidden') {
    super(403, 'forbidden', message);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string, params?: Record<string, string | number>) {
    super(409, code, message, { params });
  }
}

export class PaymentError extends AppError {
  constructor(message = 'errors.payment_unavailable', cause?: unknown) {
    super(502, 'payment_provider_unavailable', message, { cause });
  }
}

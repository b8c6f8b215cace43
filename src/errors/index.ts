// Typed errors at the boundaries. Each class carries its HTTP status and its gRPC status code,
// so the API and the agent service map errors by class, never by message text.

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `spec.subnets[1].cidr`. */
  field: string;
  message: string;
}

export abstract class WeftError extends Error {
  abstract readonly httpStatus: number;
  abstract readonly grpcCode: number;
  abstract readonly title: string;
  readonly issues: FieldIssue[];
  constructor(message: string, issues: FieldIssue[] = []) {
    super(message);
    this.name = new.target.name;
    this.issues = issues;
  }
}

/** The request is malformed or a field is invalid (400 / INVALID_ARGUMENT). */
export class ValidationError extends WeftError {
  readonly httpStatus = 400;
  readonly grpcCode = 3;
  readonly title = 'Invalid request';
  static field(field: string, message: string): ValidationError {
    return new ValidationError(`${field}: ${message}`, [{ field, message }]);
  }
}

/** The request is well formed but refers to something that does not exist (422 / FAILED_PRECONDITION). */
export class UnresolvedReferenceError extends WeftError {
  readonly httpStatus = 422;
  readonly grpcCode = 9;
  readonly title = 'Unresolved reference';
  static field(field: string, message: string): UnresolvedReferenceError {
    return new UnresolvedReferenceError(`${field}: ${message}`, [{ field, message }]);
  }
}

export class NotFoundError extends WeftError {
  readonly httpStatus = 404;
  readonly grpcCode = 5;
  readonly title = 'Not found';
}

/** A concurrent change, a stale resourceVersion, an exhausted pool, or dependants in the way. */
export class ConflictError extends WeftError {
  readonly httpStatus = 409;
  readonly grpcCode = 10;
  readonly title = 'Conflict';
  static field(field: string, message: string): ConflictError {
    return new ConflictError(`${field}: ${message}`, [{ field, message }]);
  }
}

export class UnauthenticatedError extends WeftError {
  readonly httpStatus = 401;
  readonly grpcCode = 16;
  readonly title = 'Unauthenticated';
}

export class ForbiddenError extends WeftError {
  readonly httpStatus = 403;
  readonly grpcCode = 7;
  readonly title = 'Forbidden';
}

export class PayloadTooLargeError extends WeftError {
  readonly httpStatus = 413;
  readonly grpcCode = 8;
  readonly title = 'Payload too large';
}

/** The intent store (etcd) cannot be reached; the write was not applied. */
export class UnavailableError extends WeftError {
  readonly httpStatus = 503;
  readonly grpcCode = 14;
  readonly title = 'Service unavailable';
  constructor(message: string, readonly retryAfterSeconds = 2) {
    super(message);
  }
}

/**
 * A leader-only write was refused because this replica no longer holds the leadership it began
 * under (its fence failed): nothing was written, and the new leader redoes the work.
 */
export class NotLeaderError extends WeftError {
  readonly httpStatus = 503;
  readonly grpcCode = 14;
  readonly title = 'Not the leader';
}

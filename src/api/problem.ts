// Errors leave the API as application/problem+json (RFC 9457), with `errors[]` naming fields.
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { UnavailableError, ValidationError, WeftError, type FieldIssue } from '../errors/index.js';
import { fieldPath } from '../model/index.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldIssue[];
}

export function problemOf(err: WeftError, instance?: string): Problem {
  return {
    type: `https://weft.dev/problems/${err.constructor.name.replace(/Error$/, '').replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase())}`,
    title: err.title,
    status: err.httpStatus,
    detail: err.message,
    ...(instance ? { instance } : {}),
    ...(err.issues.length ? { errors: err.issues } : {}),
  };
}

export function sendProblem(reply: FastifyReply, err: WeftError): FastifyReply {
  if (err instanceof UnavailableError) reply.header('retry-after', String(err.retryAfterSeconds));
  if (err.httpStatus === 401) reply.header('www-authenticate', 'Bearer realm="weft"');
  return reply.code(err.httpStatus).type('application/problem+json').send(problemOf(err, reply.request.url));
}

/** A problem for a status without a WeftError class (framework errors: 404, 405, 414, 415, ...). */
export function statusProblem(status: number, detail: string, instance?: string, field?: string): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    ...(instance ? { instance } : {}),
    ...(field ? { errors: [{ field, message: detail }] } : {}),
  };
}

/** A whole HTTP/1.1 response carrying a problem, for raw sockets (bad requests, refused upgrades). */
export function rawProblemResponse(problem: Problem, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(problem);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`;
}

/** zod issues → field issues with paths as the user wrote them (`spec.subnets[1].cidr`). */
export function validationErrorOf(error: z.ZodError, prefix: (string | number)[] = []): ValidationError {
  const issues: FieldIssue[] = [];
  for (const i of error.issues) {
    const path = [...prefix, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) issues.push({ field: fieldPath([...path, k]), message: 'unknown field' });
    } else {
      issues.push({ field: fieldPath(path) || 'body', message: i.message });
    }
  }
  return new ValidationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
}

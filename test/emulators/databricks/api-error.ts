// The error every emulator handler throws: an HTTP status plus the Databricks error body
// `{error_code, message}` (README §1.9), or the ARM `{error:{code,message}}` body for ARM routes.
import type { ValidationIssue } from './openapi3-validator.js';

export class DatabricksApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'DatabricksApiError';
  }

  body(): { error_code: string; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

/** A request its definition (or a documented service rule) rejects; recorded as `invalid`. */
export class InvalidRequestError extends DatabricksApiError {
  constructor(errorCode: string, message: string, readonly issues: readonly ValidationIssue[]) {
    super(400, errorCode, message);
    this.name = 'InvalidRequestError';
  }
}

export class ArmApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ArmApiError';
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export const invalidParameter = (message: string): DatabricksApiError =>
  new DatabricksApiError(400, 'INVALID_PARAMETER_VALUE', message);

export const doesNotExist = (message: string): DatabricksApiError =>
  new DatabricksApiError(404, 'RESOURCE_DOES_NOT_EXIST', message);

// The error every Synapse emulator handler throws: an HTTP status and the body Synapse's Livy front
// end was seen to send, `{"TraceId", "Message"}`. sparkJob.json defines no error body (README §7).
import { randomUUID } from 'node:crypto';
import type { ValidationIssue } from '../spec/swagger-validator.js';

/**
 * Error body shape observed on real Synapse Spark replies (Azure/azure-sdk-for-net#32297,
 * microsoft/azure-tools-for-java#3973): PascalCase `TraceId` and `Message`, nothing else.
 */
export interface SynapseErrorBody {
  TraceId: string;
  Message: string;
}

export class SynapseApiError extends Error {
  constructor(
    readonly status: number,
    /** The emulator's own classification, recorded for tests and never sent (Synapse sends no code). */
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'SynapseApiError';
  }

  body(clientRequestId: string | undefined): SynapseErrorBody {
    return errorBody(this.message, clientRequestId);
  }
}

/** A request sparkJob.json (or a documented emulator rule) rejects; recorded as `invalid`. */
export class InvalidRequestError extends SynapseApiError {
  constructor(message: string, readonly issues: readonly ValidationIssue[]) {
    super(400, 'InvalidRequest', message);
    this.name = 'InvalidRequestError';
  }
}

/** The TraceId format seen on the service: `<uuid> | client-request-id : <id>`. */
export function errorBody(message: string, clientRequestId: string | undefined): SynapseErrorBody {
  return { TraceId: `${randomUUID()} | client-request-id : ${clientRequestId ?? randomUUID()}`, Message: message };
}

export const batchNotFound = (pool: string, id: number | string): SynapseApiError =>
  new SynapseApiError(404, 'BatchNotFound', `Batch ${id} not found in Spark pool ${pool}.`);

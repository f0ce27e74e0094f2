// ARM ErrorResponse bodies (common-types v3 `{error: {code, message, target, details}}`) and
// the failure type emulator handlers throw to produce them.

export interface ArmErrorDetail {
  code: string;
  message: string;
  target?: string;
  details?: ArmErrorDetail[];
}

export interface ArmErrorBody {
  error: ArmErrorDetail;
}

export function armErrorBody(code: string, message: string, extra: { target?: string; details?: ArmErrorDetail[] } = {}): ArmErrorBody {
  const error: ArmErrorDetail = { code, message };
  if (extra.target !== undefined) error.target = extra.target;
  if (extra.details !== undefined) error.details = extra.details;
  return { error };
}

/** Thrown inside handlers; the server turns it into the status + ARM error body. */
export class ArmFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly target: string | undefined;
  readonly details: ArmErrorDetail[] | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, extra: { target?: string; details?: ArmErrorDetail[]; headers?: Record<string, string> } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.target = extra.target;
    this.details = extra.details;
    this.headers = extra.headers ?? {};
  }

  body(): ArmErrorBody {
    return armErrorBody(this.code, this.message, { target: this.target, details: this.details });
  }
}

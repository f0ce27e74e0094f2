// A wrapper for secret strings (SAS URIs, tokens) that prints as *** however it is logged,
// so a stray console.log or JSON.stringify of a result object cannot leak it.
import { inspect } from 'node:util';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself: only for handing to the SDK or HTTP call that needs it. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '***';
  }

  toJSON(): string {
    return '***';
  }

  [inspect.custom](): string {
    return 'Secret(***)';
  }
}

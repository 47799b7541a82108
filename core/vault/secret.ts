import { inspect } from 'node:util';

/** A value that must never be printed: JSON, util.inspect and template strings all show `<secret>`. */
export class Secret<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toJSON(): string {
    return '<secret>';
  }
  toString(): string {
    return '<secret>';
  }
  [inspect.custom](): string {
    return '<secret>';
  }
}

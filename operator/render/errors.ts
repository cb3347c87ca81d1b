// A spec the API server accepted that still cannot become objects (e.g. two listeners whose container
// ports collide after the +10000 rule). The controller puts `message` in the InvalidSpec condition.

export class RenderError extends Error {
  /** The field at fault, as the API server names fields: `spec.listeners[1].port`. */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = "RenderError";
    this.field = field;
  }
}

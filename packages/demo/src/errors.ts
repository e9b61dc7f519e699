/**
 * Stable error codes of the demo shop and the load generator. A code keeps its
 * meaning forever and is never reused; HTTP answers carry it in the JSON body
 * and in the `x-traceloom-error-code` header, with a hint that says what to do.
 */

/** Codes the demo answers or exits with. */
export const DemoErrorCode = {
  /** A `/admin/faults` body that is not JSON, has an unknown key or a value out of range. */
  BAD_FAULTS: 'TL_ERR_DEMO_BAD_FAULTS',
  /** `/admin/faults` with a method other than GET, POST or DELETE. */
  METHOD_NOT_ALLOWED: 'TL_ERR_DEMO_METHOD_NOT_ALLOWED',
  /** A shop route that does not exist. */
  NOT_FOUND: 'TL_ERR_DEMO_NOT_FOUND',
  /** A shop request whose body or parameters cannot be used (unknown product, bad quantity). */
  BAD_REQUEST: 'TL_ERR_DEMO_BAD_REQUEST',
  /** A call to another shop service failed (the injected payment error, a restart, a timeout). */
  UPSTREAM: 'TL_ERR_DEMO_UPSTREAM',
  /** A `traceloom demo` / `traceloom loadgen` flag or variable whose value cannot be used. */
  BAD_CONFIG: 'TL_ERR_DEMO_BAD_CONFIG',
  /** The demo could not start (the server or a shop service did not come up). */
  STARTUP: 'TL_ERR_DEMO_STARTUP',
} as const;
/** A value of {@link DemoErrorCode}. */
export type DemoErrorCode = (typeof DemoErrorCode)[keyof typeof DemoErrorCode];

/** A failure with a stable code, an HTTP status (for answers) and a hint. */
export class DemoError extends Error {
  readonly code: DemoErrorCode;
  readonly status: number;
  readonly hint: string;
  constructor(code: DemoErrorCode, message: string, hint: string, status = 400, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DemoError';
    this.code = code;
    this.status = status;
    this.hint = hint;
  }
}

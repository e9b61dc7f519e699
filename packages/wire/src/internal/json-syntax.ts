/**
 * Where JSON text stops being valid JSON (RFC 8259), for the error messages
 * of the JSON decoders. `JSON.parse` does the real parsing (native and
 * iterative, so deep nesting cannot exhaust the stack); its `SyntaxError`
 * carries a position only for some errors and its wording changes between V8
 * versions, so after a failure this scanner finds the offending character
 * itself. It is on the error path only.
 */
import { WireDecodeError, WireErrorCode } from '../errors.ts';

/** Where the first syntax error is: `offset` is -1 when the text is valid JSON. */
export interface JsonSyntaxProblem {
  /** Index of the first character that cannot continue valid JSON; `text.length` when the text ends too early. */
  readonly offset: number;
  /** What was wrong there, for a message: `expected ':'`, `unexpected end of input`. */
  readonly problem: string;
}

const VALID: JsonSyntaxProblem = { offset: -1, problem: 'no error found' };

// Open containers on the scanner's explicit stack.
const ARRAY = 0;
const OBJECT = 1;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/*
 * The scanners below return the index just past what they read, or
 * `-(errorIndex) - 1` at the first character that cannot belong to it (so
 * that -1 still means "error at 0"). `charCodeAt` past the end is NaN, which
 * no comparison accepts, so running off the end fails at `text.length`.
 */

/** A string whose opening '"' is at `i`. */
function scanString(text: string, i: number): number {
  const n = text.length;
  i++;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -i - 1;
    if (c === 0x5c) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75) {
        for (let k = 2; k < 6; k++) if (!isHexDigit(text.charCodeAt(i + k))) return -(i + k) - 1;
        i += 6;
        continue;
      }
      // The escapes of RFC 8259 section 7: \" \\ \/ \b \f \n \r \t.
      if (
        e !== 0x22 &&
        e !== 0x5c &&
        e !== 0x2f &&
        e !== 0x62 &&
        e !== 0x66 &&
        e !== 0x6e &&
        e !== 0x72 &&
        e !== 0x74
      ) {
        return -Math.min(i + 1, n) - 1;
      }
      i += 2;
      continue;
    }
    i++;
  }
  return -n - 1;
}

function scanDigits(text: string, i: number): number {
  while (isDigit(text.charCodeAt(i))) i++;
  return i;
}

/** A number starting at `i` (a '-' or a digit): RFC 8259 section 6, so no leading zeros, '+', '.5' or '5.'. */
function scanNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === 45) i++;
  if (text.charCodeAt(i) === 48) i++;
  else if (isDigit(text.charCodeAt(i))) i = scanDigits(text, i);
  else return -i - 1;
  if (text.charCodeAt(i) === 46) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -i - 1;
    i = scanDigits(text, i);
  }
  if ((text.charCodeAt(i) | 0x20) === 101) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 43 || sign === 45) i++;
    if (!isDigit(text.charCodeAt(i))) return -i - 1;
    i = scanDigits(text, i);
  }
  return i;
}

/** `true`, `false` or `null` at `i`. */
function scanLiteral(text: string, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (text.charCodeAt(i + k) !== word.charCodeAt(k)) return -(i + k) - 1;
  return i + word.length;
}

/**
 * Scans `text` as RFC 8259 JSON and returns where its first error is, or
 * `offset: -1` when it is valid (exactly when `JSON.parse` accepts it). It
 * keeps an explicit stack of open containers, so it runs in constant call
 * stack space however deep the nesting, and it never throws.
 *
 * @example
 * locateJsonSyntaxError('[1 2]'); // { offset: 3, problem: "expected ',' or ']'" }
 */
export function locateJsonSyntaxError(text: string): JsonSyntaxProblem {
  const n = text.length;
  const stack: number[] = [];
  const fail = (offset: number, problem: string): JsonSyntaxProblem => ({ offset, problem });
  const unexpected = (at: number): JsonSyntaxProblem =>
    at >= n ? fail(n, 'unexpected end of input') : fail(at, `unexpected character ${JSON.stringify(text[at])}`);
  /** A failed scan: running off the end is "unexpected end of input", whatever was being read. */
  const failed = (next: number, problem: string): JsonSyntaxProblem => {
    const at = -next - 1;
    return at >= n ? fail(n, 'unexpected end of input') : fail(at, problem);
  };
  /** An object member's `"key" :` starting at `i`; returns the index after ':' or a problem. */
  const memberKey = (i: number): number | JsonSyntaxProblem => {
    if (text.charCodeAt(i) !== 0x22) return i >= n ? unexpected(i) : fail(i, 'expected a property name');
    const next = scanString(text, i);
    if (next < 0) return failed(next, 'invalid string');
    i = skipSpace(text, next);
    if (text.charCodeAt(i) !== 0x3a) return i >= n ? unexpected(i) : fail(i, "expected ':'");
    return i + 1;
  };

  let i = 0;
  // Each turn reads one value; a container's opening pushes it and goes on to its first element.
  for (;;) {
    i = skipSpace(text, i);
    if (i >= n) return unexpected(i);
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      const close = c === 0x5b ? 0x5d : 0x7d;
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) !== close) {
        stack.push(c === 0x5b ? ARRAY : OBJECT);
        if (c === 0x7b) {
          const after = memberKey(i);
          if (typeof after !== 'number') return after;
          i = after;
        }
        continue;
      }
      i++;
    } else {
      let next: number;
      if (c === 0x22) next = scanString(text, i);
      else if (c === 45 || isDigit(c)) next = scanNumber(text, i);
      else if (c === 0x74) next = scanLiteral(text, i, 'true');
      else if (c === 0x66) next = scanLiteral(text, i, 'false');
      else if (c === 0x6e) next = scanLiteral(text, i, 'null');
      else return unexpected(i);
      if (next < 0) {
        if (c === 0x22) return failed(next, 'invalid string');
        if (c === 45 || isDigit(c)) return failed(next, 'invalid number');
        return unexpected(-next - 1);
      }
      i = next;
    }
    // After a complete value: close containers, or go on to the next element.
    for (;;) {
      i = skipSpace(text, i);
      if (stack.length === 0) return i < n ? fail(i, 'unexpected data after the JSON value') : VALID;
      const top = stack[stack.length - 1] as number;
      const d = text.charCodeAt(i);
      if (d === 0x2c) {
        i++;
        if (top === OBJECT) {
          const after = memberKey(skipSpace(text, i));
          if (typeof after !== 'number') return after;
          i = after;
        }
        break;
      }
      if (d === (top === ARRAY ? 0x5d : 0x7d)) {
        i++;
        stack.pop();
        continue;
      }
      if (i >= n) return unexpected(i);
      return fail(i, top === ARRAY ? "expected ',' or ']'" : "expected ',' or '}'");
    }
  }
}

/**
 * The `BAD_JSON` error for `text` that `JSON.parse` rejected with `cause`:
 * `invalid JSON at character N: <problem>`, with `offset` N. `shift` is added
 * to the position, for characters the caller removed before parsing (a byte
 * order mark).
 */
export function jsonSyntaxError(text: string, cause: unknown, shift = 0): WireDecodeError {
  const { offset, problem } = locateJsonSyntaxError(text);
  if (offset < 0) {
    // The scanner found the text valid, so JSON.parse failed for another
    // reason (a string too long for the engine): report its words.
    const message = cause instanceof Error ? cause.message : String(cause);
    return new WireDecodeError(WireErrorCode.BAD_JSON, `invalid JSON: ${message}`);
  }
  const at = offset + shift;
  return new WireDecodeError(WireErrorCode.BAD_JSON, `invalid JSON at character ${at}: ${problem}`, at);
}

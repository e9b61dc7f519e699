/**
 * Where JSON text stops being valid JSON (RFC 8259), for error messages.
 * `JSON.parse` does the real parsing; its `SyntaxError` message carries a
 * position only for some errors and varies between V8 versions, so after a
 * failure this scanner finds the offending character itself. It keeps an
 * explicit stack, so deep nesting cannot overflow the call stack.
 */

// What the scanner expects next.
/** A value (start of document, after ':' or after ',' in an array). */
const VALUE = 0;
/** A value or ']' (right after '['). */
const VALUE_OR_CLOSE = 1;
/** A key string (after ',' in an object). */
const KEY = 2;
/** A key string or '}' (right after '{'). */
const KEY_OR_CLOSE = 3;
/** ':' after a key. */
const COLON = 4;
/** ',' or the closing bracket of the current container, or the end at top level. */
const COMMA_OR_CLOSE = 5;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Index just past the string starting at `i` (a '"'), or `-(errorIndex) - 1`. */
function scanString(text: string, i: number): number {
  const n = text.length;
  i++;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -i - 1;
    if (c === 0x5c) {
      if (i + 1 >= n) return -n - 1;
      const e = text.charCodeAt(i + 1);
      if (e === 0x75) {
        for (let k = 2; k < 6; k++) {
          if (i + k >= n) return -n - 1;
          if (!isHexDigit(text.charCodeAt(i + k))) return -(i + k) - 1;
        }
        i += 6;
        continue;
      }
      // " \ / b f n r t
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
        return -(i + 1) - 1;
      }
      i += 2;
      continue;
    }
    i++;
  }
  return -n - 1;
}

/** Index just past the number starting at `i`, or `-(errorIndex) - 1`. */
function scanNumber(text: string, i: number): number {
  const n = text.length;
  if (text.charCodeAt(i) === 45) i++;
  if (i >= n) return -n - 1;
  if (text.charCodeAt(i) === 48) i++;
  else if (isDigit(text.charCodeAt(i))) while (i < n && isDigit(text.charCodeAt(i))) i++;
  else return -i - 1;
  if (i < n && text.charCodeAt(i) === 46) {
    i++;
    if (i >= n || !isDigit(text.charCodeAt(i))) return -Math.min(i, n) - 1;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  if (i < n && (text.charCodeAt(i) === 101 || text.charCodeAt(i) === 69)) {
    i++;
    if (i < n && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45)) i++;
    if (i >= n || !isDigit(text.charCodeAt(i))) return -Math.min(i, n) - 1;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

/**
 * The index of the first character at which `text` is not valid JSON
 * (`text.length` when it ends too early), or -1 when it is valid.
 */
export function jsonErrorPosition(text: string): number {
  const n = text.length;
  const stack: number[] = [];
  let expect = VALUE;
  let i = 0;
  while (true) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) return stack.length === 0 && expect === COMMA_OR_CLOSE ? -1 : n;
    const c = text.charCodeAt(i);
    switch (expect) {
      case VALUE:
      case VALUE_OR_CLOSE: {
        if (c === 0x5d && expect === VALUE_OR_CLOSE) {
          stack.pop();
          i++;
          expect = COMMA_OR_CLOSE;
          break;
        }
        if (c === 0x7b) {
          stack.push(c);
          i++;
          expect = KEY_OR_CLOSE;
          break;
        }
        if (c === 0x5b) {
          stack.push(c);
          i++;
          expect = VALUE_OR_CLOSE;
          break;
        }
        let next: number;
        if (c === 0x22) next = scanString(text, i);
        else if (c === 45 || isDigit(c)) next = scanNumber(text, i);
        else {
          const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : '';
          if (word === '') return i;
          for (let k = 1; k < word.length; k++) {
            if (i + k >= n) return n;
            if (text.charCodeAt(i + k) !== word.charCodeAt(k)) return i + k;
          }
          next = i + word.length;
        }
        if (next < 0) return -next - 1;
        i = next;
        expect = COMMA_OR_CLOSE;
        break;
      }
      case KEY:
      case KEY_OR_CLOSE: {
        if (c === 0x7d && expect === KEY_OR_CLOSE) {
          stack.pop();
          i++;
          expect = COMMA_OR_CLOSE;
          break;
        }
        if (c !== 0x22) return i;
        const next = scanString(text, i);
        if (next < 0) return -next - 1;
        i = next;
        expect = COLON;
        break;
      }
      case COLON:
        if (c !== 0x3a) return i;
        i++;
        expect = VALUE;
        break;
      case COMMA_OR_CLOSE: {
        const top = stack.length === 0 ? 0 : (stack[stack.length - 1] as number);
        if (top === 0) return i;
        if (c === 0x2c) {
          i++;
          expect = top === 0x7b ? KEY : VALUE;
        } else if ((c === 0x7d && top === 0x7b) || (c === 0x5d && top === 0x5b)) {
          stack.pop();
          i++;
          expect = COMMA_OR_CLOSE;
        } else return i;
        break;
      }
    }
  }
}

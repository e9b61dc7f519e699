/**
 * The JSON syntax-error locator shared by the Zipkin and OTLP JSON decoders:
 * it must agree with `JSON.parse` on what is valid, point at the right
 * character with the right description, never throw, and survive any depth.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { jsonSyntaxError, locateJsonSyntaxError } from './json-syntax.ts';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Valid exactly when `JSON.parse` accepts the text; otherwise an offset inside the text or at its end. */
function check(text: string): void {
  const found = locateJsonSyntaxError(text);
  assert.equal(found.offset === -1, parses(text), `${JSON.stringify(text)}: ${found.problem}`);
  if (found.offset !== -1) assert.ok(found.offset >= 0 && found.offset <= text.length, JSON.stringify(found));
}

describe('locateJsonSyntaxError', () => {
  it('finds the offending character and names the problem', () => {
    const cases: [string, number, string][] = [
      ['', 0, 'unexpected end of input'],
      ['   ', 3, 'unexpected end of input'],
      ['[', 1, 'unexpected end of input'],
      ['{"resourceSpans": [}', 19, 'unexpected character "}"'],
      ['{"resourceSpans": []', 20, 'unexpected end of input'],
      ['[{"traceId": "ab",}]', 18, 'expected a property name'],
      ['{"a": 1,}', 8, 'expected a property name'],
      ['{,}', 1, 'expected a property name'],
      ['{"a" 1}', 5, "expected ':'"],
      ['{"a"', 4, 'unexpected end of input'],
      ['[1 2]', 3, "expected ',' or ']'"],
      ['{"a":1 "b":2}', 7, "expected ',' or '}'"],
      ['[1,]', 3, 'unexpected character "]"'],
      ['{"a": tru}', 9, 'unexpected character "}"'],
      ['[{"a":tru}]', 9, 'unexpected character "}"'],
      ['nul', 3, 'unexpected end of input'],
      ['x', 0, 'unexpected character "x"'],
      ['["\\x"]', 3, 'invalid string'],
      ['"\\u12G4"', 5, 'invalid string'],
      ['"\\u12', 5, 'unexpected end of input'],
      ['"\\', 2, 'unexpected end of input'],
      ['"abc', 4, 'unexpected end of input'],
      ['{"a": "\u0001"}', 7, 'invalid string'],
      ['[-]', 2, 'invalid number'],
      ['-', 1, 'unexpected end of input'],
      ['[01]', 2, "expected ',' or ']'"],
      ['[1.]', 3, 'invalid number'],
      ['[.5]', 1, 'unexpected character "."'],
      ['[1e+]', 4, 'invalid number'],
      ['[+1]', 1, 'unexpected character "+"'],
      ['[1, 2] x', 7, 'unexpected data after the JSON value'],
      ['[] x', 3, 'unexpected data after the JSON value'],
      ['\ufeff[]', 0, 'unexpected character "\ufeff"'],
    ];
    for (const [text, offset, problem] of cases) {
      assert.deepEqual(locateJsonSyntaxError(text), { offset, problem }, JSON.stringify(text));
      assert.equal(parses(text), false, `${JSON.stringify(text)} is meant to be invalid`);
    }
  });

  it('finds nothing wrong in valid JSON of every kind', () => {
    for (const text of [
      '0',
      '-0.5e+10',
      '1E-2',
      '"a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\ud800"',
      ' true ',
      'false',
      'null',
      '[]',
      '{}',
      '[ [ ] , { } ]',
      '{"a":[1,{"b":null}],"c":"d"}',
      '\t\r\n[1]\n',
    ]) {
      assert.deepEqual(locateJsonSyntaxError(text), { offset: -1, problem: 'no error found' }, JSON.stringify(text));
    }
  });

  it('agrees with JSON.parse on what is valid (property)', () => {
    fc.assert(fc.property(fc.json(), check), { numRuns: 500 });
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'[]{}",:01-.eE+tfnulrsa\\ \n') }), check), {
      numRuns: 3000,
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.string({ unit: 'binary', maxLength: 30 }),
          fc.json().map((t) => t.slice(0, -1)),
          fc.json().chain((t) => fc.nat(t.length).map((i) => t.slice(0, i) + t.slice(i + 1))),
          fc.stringMatching(/^[\s{}[\]",:0-9eE.+\-tfnrul\\]{0,20}$/),
        ),
        check,
      ),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.json(), fc.nat(), (json, cut) => check(json.slice(0, cut % (json.length + 1)))),
      { numRuns: 500 },
    );
  });

  it('runs in constant stack space at any depth', () => {
    const depth = 200_000;
    assert.equal(locateJsonSyntaxError(`${'['.repeat(depth)}${']'.repeat(depth)}`).offset, -1);
    assert.deepEqual(locateJsonSyntaxError('['.repeat(depth)), { offset: depth, problem: 'unexpected end of input' });
    const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth - 1)}]`;
    assert.deepEqual(locateJsonSyntaxError(objects), {
      offset: objects.length - 1,
      problem: "expected ',' or '}'",
    });
  });
});

describe('jsonSyntaxError', () => {
  it('is BAD_JSON naming the character and the problem', () => {
    const e = jsonSyntaxError('[1 2]', new SyntaxError('Unexpected number'));
    assert.ok(e instanceof WireDecodeError);
    assert.equal(e.code, WireErrorCode.BAD_JSON);
    assert.equal(e.offset, 3);
    assert.equal(e.message, "invalid JSON at character 3: expected ',' or ']'");
  });

  it('adds the shift for characters removed before parsing', () => {
    const e = jsonSyntaxError('[,]', new SyntaxError('x'), 1);
    assert.equal(e.offset, 2);
    assert.match(e.message, /^invalid JSON at character 2: /);
  });

  it("reports the engine's words when the scanner finds the text valid", () => {
    const e = jsonSyntaxError('[]', new RangeError('Invalid string length'));
    assert.equal(e.code, WireErrorCode.BAD_JSON);
    assert.equal(e.offset, -1);
    assert.equal(e.message, 'invalid JSON: Invalid string length');
  });
});

/**
 * The condition language of custom analysis metrics: a small, safe comparison grammar parsed by hand.
 *
 * Why not CEL: the JS CEL implementations on npm are young single-maintainer projects, and these conditions need
 * only comparisons over one query result; a forty-line recursive-descent parser is easier to audit than a new
 * dependency in the operator, and nothing here can run code (no `eval`, no property access, no calls).
 *
 *   expr    := or
 *   or      := and ('||' and)*
 *   and     := unary ('&&' unary)*
 *   unary   := '!' unary | '(' expr ')' | compare
 *   compare := operand ('<' | '<=' | '>' | '>=' | '==' | '!=') operand
 *   operand := number | 'result' | 'result[' integer ']'
 *
 * `result` is the first sample's value, `result[i]` the i-th sample (Prometheus order). A reference to a
 * sample that does not exist, or a NaN, makes the whole condition "no data" (undefined): never a pass.
 */

type Operand = { kind: 'number'; value: number } | { kind: 'result'; index: number };
type Op = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type ConditionAst =
  | { kind: 'compare'; op: Op; left: Operand; right: Operand }
  | { kind: 'and' | 'or'; left: ConditionAst; right: ConditionAst }
  | { kind: 'not'; inner: ConditionAst };

/** A condition that does not parse; `message` names the position, never echoes more than the token. */
export class ConditionSyntaxError extends Error {}

const TOKEN = /\s*(?:(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(result)|(<=|>=|==|!=|&&|\|\||[<>![\]()])|(-))/y;

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  let pos = 0;
  TOKEN.lastIndex = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(src);
    if (!m) throw new ConditionSyntaxError(`unexpected character at position ${pos + 1}`);
    tokens.push((m[1] ?? m[2] ?? m[3] ?? m[4]) as string);
    pos = TOKEN.lastIndex;
  }
  return tokens;
}

/** Parse a condition; throws {@link ConditionSyntaxError}. */
export function parseCondition(src: string): ConditionAst {
  const t = tokenize(src);
  let i = 0;
  const peek = () => t[i];
  const expect = (tok: string) => {
    if (t[i] !== tok) throw new ConditionSyntaxError(`expected '${tok}' at token ${i + 1}`);
    i++;
  };
  const operand = (): Operand => {
    let sign = 1;
    if (peek() === '-') {
      sign = -1;
      i++;
    }
    const tok = t[i++];
    if (tok === undefined) throw new ConditionSyntaxError('unexpected end of condition');
    if (/^\d/.test(tok)) return { kind: 'number', value: sign * Number(tok) };
    if (tok === 'result' && sign === 1) {
      if (peek() !== '[') return { kind: 'result', index: 0 };
      i++;
      const idx = t[i++];
      if (idx === undefined || !/^\d+$/.test(idx)) throw new ConditionSyntaxError(`expected an index at token ${i}`);
      expect(']');
      return { kind: 'result', index: Number(idx) };
    }
    throw new ConditionSyntaxError(`expected a number or result at token ${i}`);
  };
  const compare = (): ConditionAst => {
    const left = operand();
    const op = t[i++];
    if (!op || !['<', '<=', '>', '>=', '==', '!='].includes(op))
      throw new ConditionSyntaxError(`expected a comparison at token ${i}`);
    return { kind: 'compare', op: op as Op, left, right: operand() };
  };
  const unary = (): ConditionAst => {
    if (peek() === '!') {
      i++;
      return { kind: 'not', inner: unary() };
    }
    if (peek() === '(') {
      i++;
      const e = or();
      expect(')');
      return e;
    }
    return compare();
  };
  const and = (): ConditionAst => {
    let left = unary();
    while (peek() === '&&') {
      i++;
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  const or = (): ConditionAst => {
    let left = and();
    while (peek() === '||') {
      i++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const ast = or();
  if (i !== t.length) throw new ConditionSyntaxError(`unexpected token ${i + 1}`);
  return ast;
}

/** Evaluate over the query's sample values; undefined: a referenced sample is missing or NaN (no data). */
export function evaluateCondition(ast: ConditionAst, result: readonly number[]): boolean | undefined {
  const value = (o: Operand): number | undefined => {
    if (o.kind === 'number') return o.value;
    const v = result[o.index];
    return v === undefined || Number.isNaN(v) ? undefined : v;
  };
  switch (ast.kind) {
    case 'compare': {
      const l = value(ast.left);
      const r = value(ast.right);
      if (l === undefined || r === undefined) return undefined;
      switch (ast.op) {
        case '<':
          return l < r;
        case '<=':
          return l <= r;
        case '>':
          return l > r;
        case '>=':
          return l >= r;
        case '==':
          return l === r;
        case '!=':
          return l !== r;
      }
      return undefined;
    }
    case 'not': {
      const v = evaluateCondition(ast.inner, result);
      return v === undefined ? undefined : !v;
    }
    case 'and':
    case 'or': {
      // No short-circuit over missing data: a condition that names a missing sample is no data as a whole.
      const l = evaluateCondition(ast.left, result);
      const r = evaluateCondition(ast.right, result);
      if (l === undefined || r === undefined) return undefined;
      return ast.kind === 'and' ? l && r : l || r;
    }
  }
}

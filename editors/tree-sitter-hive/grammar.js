/**
 * @file Tree-sitter grammar for `.hive`, the declarative language for multi-agent workflows.
 * @license MIT
 *
 * Follows grammar/hive.pest. It is lenient where pest is (commas are optional everywhere; the
 * compiler checks that two elements on one line are separated by one) and in a few more places
 * where the compiler reports the mistake anyway: doc comments may appear anywhere, whitespace
 * is allowed around the dots of a dotted name, and a typed record in a `for` head need not be
 * parenthesised when the body still parses.
 */

// Binding strength, lowest first, as in the compiler's Pratt parser
// (compiler/src/syntax/expr.rs). Note that `??` binds tighter than comparisons.
const PREC = {
  range: 1,
  or: 2,
  and: 3,
  compare: 4,
  coalesce: 5,
  add: 6,
  mul: 7,
  unary: 8,
  postfix: 9,
};

// Reserved words; any of them may still be a record key (`output:` in a `simulate` block).
const KEYWORDS = [
  'import', 'as', 'type', 'enum', 'capability', 'agent', 'pool', 'route', 'workflow',
  'step', 'output', 'for', 'in', 'with', 'const', 'true', 'false', 'none',
];

// Zero or more `rule`s, each optionally followed by a comma.
function commaList(rule) {
  return repeat(seq(rule, optional(',')));
}

module.exports = grammar({
  name: 'hive',

  word: $ => $.identifier,

  // Keywords are never names, as in the compiler (`agent step { … }` is an error); a record
  // key lists them explicitly. `list` and `map` are not reserved: they only start a type.
  reserved: {
    global: _ => KEYWORDS,
  },

  // Nested block comments and string text (which must not be mistaken for a comment) are
  // lexed in src/scanner.c. The sentinel is never produced: it tells the scanner that the
  // parser is recovering from an error.
  externals: $ => [
    $.string_content,
    $.block_comment,
    $._error_sentinel,
  ],

  extras: $ => [
    /\s/,
    $.doc_comment,
    $.line_comment,
    $.block_comment,
  ],

  supertypes: $ => [
    $._item,
    $._type,
    $._expression,
  ],

  conflicts: $ => [
    // `for x in xs { call() }`: the body's `{` could also open a typed record `xs { … }`;
    // pest forbids a typed record there, here the parse that succeeds wins.
    [$._expression, $._name],
    // `a.b` is a field access in a value but a qualified name before `(` or `{`.
    [$._expression, $.path],
  ],

  rules: {
    source_file: $ => repeat($._item),

    _item: $ => choice(
      $.import,
      $.const_item,
      $.type_item,
      $.enum_item,
      $.capability_item,
      $.agent_item,
      $.pool_item,
      $.route_item,
      $.workflow_item,
      $.state_item,
      $.topic_item,
    ),

    // ------------------------------------------------------------------ items

    import: $ => seq(
      'import',
      field('path', $.string),
      optional(seq('as', field('alias', $.identifier))),
    ),

    const_item: $ => seq(
      'const',
      field('name', $.identifier),
      ':',
      field('type', $._type),
      '=',
      field('value', $._expression),
    ),

    type_item: $ => seq(
      'type',
      field('name', $.identifier),
      '{',
      commaList($.field),
      '}',
    ),

    field: $ => seq(
      field('name', $.identifier),
      ':',
      field('type', $._type),
      optional(seq('=', field('default', $._expression))),
    ),

    enum_item: $ => seq(
      'enum',
      field('name', $.identifier),
      '{',
      commaList($.variant),
      '}',
    ),

    variant: $ => field('name', $.identifier),

    capability_item: $ => seq(
      'capability',
      field('name', $._name),
      field('parameters', $.parameters),
      '->',
      field('return_type', $._type),
      optional(field('reads', $.reads)),
      optional(field('writes', $.writes)),
    ),

    // `reads [a, b]` and `writes [a]`: the state cells a capability's agents use. Neither word
    // is reserved.
    reads: $ => seq('reads', $.cell_list),
    writes: $ => seq('writes', $.cell_list),
    cell_list: $ => seq('[', commaList($.identifier), ']'),

    // `state name: T [= default] [{ properties }]`; `state` is not reserved either.
    state_item: $ => seq(
      'state',
      field('name', $.identifier),
      ':',
      field('type', $._type),
      optional(seq('=', field('default', $._expression))),
      optional(seq('{', commaList($.property), '}')),
    ),

    // `topic name: T [{ retain: …, dedupe: … }]`; `topic` is not reserved.
    topic_item: $ => seq(
      'topic',
      field('name', $.identifier),
      ':',
      field('type', $._type),
      optional(seq('{', commaList($.property), '}')),
    ),

    parameters: $ => seq('(', commaList($.parameter), ')'),

    parameter: $ => seq(
      field('name', $.identifier),
      ':',
      field('type', $._type),
      optional(seq('=', field('default', $._expression))),
    ),

    agent_item: $ => seq(
      'agent',
      field('name', $.identifier),
      '{',
      commaList($.property),
      '}',
    ),

    pool_item: $ => seq(
      'pool',
      field('name', $.identifier),
      '{',
      commaList($.property),
      '}',
    ),

    route_item: $ => seq(
      'route',
      field('capability', $._name),
      '->',
      field('target', $._name),
      optional(seq('{', commaList($.property), '}')),
    ),

    workflow_item: $ => seq(
      'workflow',
      field('name', $.identifier),
      field('parameters', $.parameters),
      '->',
      field('return_type', $._type),
      '{',
      commaList(choice($.property, $.step, $.output)),
      '}',
    ),

    property: $ => seq(
      field('name', $.identifier),
      ':',
      field('value', $._expression),
    ),

    step: $ => seq(
      'step',
      field('name', $.identifier),
      '=',
      field('value', choice($.call_expression, $.for_step, $.topic_step)),
      optional(field('options', $.with_options)),
    ),

    for_step: $ => seq(
      'for',
      field('variable', $.identifier),
      'in',
      field('iterable', $._expression),
      '{',
      field('body', $.call_expression),
      '}',
    ),

    // `publish topic(value)` and `receive topic(where: pred)`: the callee is a topic.
    topic_step: $ => seq(
      field('operation', choice('publish', 'receive')),
      field('topic', $.identifier),
      field('arguments', $.arguments),
    ),

    with_options: $ => seq('with', '{', commaList($.property), '}'),

    output: $ => seq('output', field('value', $._expression)),

    // A name that may be qualified: `std.shell`, `lib.Review`, `common.Tone`.
    _name: $ => choice($.identifier, $.path),

    path: $ => seq($.identifier, repeat1(seq('.', $.identifier))),

    // ------------------------------------------------------------------ types

    _type: $ => choice(
      $.type,
      $.list_type,
      $.map_type,
      $.optional_type,
    ),

    // A named type: a builtin (`string`, `int`, …), a record or enum, or `lib.Name`.
    type: $ => $._name,

    list_type: $ => seq('list', '<', field('element', $._type), '>'),

    map_type: $ => seq('map', '<', field('value', $._type), '>'),

    optional_type: $ => seq(
      field('type', choice($.type, $.list_type, $.map_type)),
      '?',
    ),

    // ------------------------------------------------------------------ expressions

    _expression: $ => choice(
      $.binary_expression,
      $.unary_expression,
      $.call_expression,
      $.field_expression,
      $.index_expression,
      $.parenthesized_expression,
      $.typed_record,
      $.record,
      $.list,
      $.string,
      $.duration,
      $.size,
      $.float,
      $.integer,
      $.boolean,
      $.none,
      $.identifier,
    ),

    binary_expression: $ => {
      // [precedence, operator, right associative]
      const table = [
        [PREC.range, '..', false],
        [PREC.or, '||', false],
        [PREC.and, '&&', false],
        [PREC.compare, choice('==', '!=', '<=', '>=', '<', '>'), false],
        [PREC.coalesce, '??', true],
        [PREC.add, choice('+', '-'), false],
        [PREC.mul, choice('*', '/', '%'), false],
      ];
      return choice(...table.map(([p, operator, right]) => (right ? prec.right : prec.left)(p, seq(
        field('left', $._expression),
        field('operator', operator),
        field('right', $._expression),
      ))));
    },

    unary_expression: $ => prec(PREC.unary, seq(
      field('operator', choice('-', '!')),
      field('operand', $._expression),
    )),

    // Only a name can be called: `len(xs)`, `std.shell(…)`, `exponential(1s, max: 30s)`.
    call_expression: $ => prec(PREC.postfix, seq(
      field('callee', $._name),
      field('arguments', $.arguments),
    )),

    arguments: $ => seq('(', commaList($.argument), ')'),

    argument: $ => seq(
      optional(seq(field('name', $.identifier), ':')),
      field('value', $._expression),
    ),

    field_expression: $ => prec(PREC.postfix, seq(
      field('value', $._expression),
      '.',
      field('field', $.identifier),
    )),

    index_expression: $ => prec(PREC.postfix, seq(
      field('value', $._expression),
      '[',
      field('index', $._expression),
      ']',
    )),

    parenthesized_expression: $ => seq('(', $._expression, ')'),

    list: $ => seq('[', commaList($._expression), ']'),

    record: $ => seq('{', commaList($.record_field), '}'),

    // Preferred over a name followed by a record where both parse (`[Point { x: 1 }]`).
    typed_record: $ => prec.dynamic(1, seq(
      field('name', $._name),
      '{',
      commaList($.record_field),
      '}',
    )),

    record_field: $ => seq(
      field('key', $._key),
      ':',
      field('value', $._expression),
    ),

    _key: $ => choice(
      $.identifier,
      ...KEYWORDS.map(k => alias(k, $.identifier)),
    ),

    // ------------------------------------------------------------------ literals

    string: $ => seq(
      '"',
      repeat(choice($.string_content, $.escape_sequence, $.interpolation)),
      token.immediate('"'),
    ),

    escape_sequence: _ => token.immediate(seq(
      '\\',
      choice(/[ntr"\\$]/, /u\{[0-9a-fA-F]{1,6}\}/),
    )),

    interpolation: $ => seq(
      token.immediate('${'),
      field('value', $._expression),
      '}',
    ),

    // Units are part of the token, so `500ms`, `1.5m` and `512mb` are one literal each.
    duration: _ => /\d[\d_]*(\.\d[\d_]*)?(ms|s|m|h|d)/,

    size: _ => /\d[\d_]*(kb|mb|gb|tb)/,

    float: _ => /\d[\d_]*(\.\d[\d_]*([eE][+-]?\d[\d_]*)?|[eE][+-]?\d[\d_]*)/,

    integer: _ => /\d[\d_]*/,

    boolean: _ => choice('true', 'false'),

    none: _ => 'none',

    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*/,

    // ------------------------------------------------------------------ comments

    // `///` starts a doc comment; `//` and `////` (or more) start plain ones. Neither regex
    // matches what the other does, so the longest match decides.
    doc_comment: _ => token(/\/\/\/([^\/\n][^\n]*)?/),

    line_comment: _ => token(choice(
      /\/\/([^\/\n][^\n]*)?/,
      /\/\/\/\/[^\n]*/,
    )),
  },
});

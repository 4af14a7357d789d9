; Highlights for `.hive`.
;
; When several patterns match one node, the later pattern wins (tree-sitter CLI, Neovim,
; Helix), so general patterns come first and special cases after them.

; ------------------------------------------------------------------ names

; Every other name is a value: a parameter, step, loop variable, const, agent or enum.
(identifier) @variable

; The qualifier of a dotted name: `std` in `std.shell`, `lib` in `lib.Review`.
(path
  (identifier) @module
  .
  ".")

; ------------------------------------------------------------------ definitions

(import
  alias: (identifier) @module)

(const_item
  name: (identifier) @constant)

(type_item
  name: (identifier) @type)

(enum_item
  name: (identifier) @type)

(variant
  name: (identifier) @constant)

(field
  name: (identifier) @property)

(capability_item
  name: (identifier) @function)

(capability_item
  name: (path
    (identifier) @function .))

(workflow_item
  name: (identifier) @function)

(state_item
  name: (identifier) @variable)

(cell_list
  (identifier) @variable)

(topic_item
  name: (identifier) @variable)

(topic_step
  topic: (identifier) @variable)

(parameter
  name: (identifier) @variable.parameter)

(agent_item
  name: (identifier) @module)

(pool_item
  name: (identifier) @module)

(route_item
  capability: (identifier) @function)

(route_item
  capability: (path
    (identifier) @function .))

(route_item
  target: (identifier) @module)

(route_item
  target: (path
    (identifier) @module .))

(step
  name: (identifier) @variable)

(for_step
  variable: (identifier) @variable)

; ------------------------------------------------------------------ properties and fields

(property
  name: (identifier) @property)

(record_field
  key: (identifier) @property)

(field_expression
  field: (identifier) @property)

(argument
  name: (identifier) @variable.parameter)

; What an agent provides and which agents a pool holds.
((property
  name: (identifier) @property
  value: (list
    (identifier) @function))
  (#eq? @property "provides"))

((property
  name: (identifier) @property
  value: (list
    (identifier) @module))
  (#eq? @property "members"))

; Strategies, consensus forms and priority levels given as a property's value.
((property
  value: (identifier) @constant.builtin)
  (#any-of? @constant.builtin
    "round_robin" "least_busy" "weighted" "resource_aware" "performance" "random" "auction"
    "majority" "unanimous" "first" "critical" "urgent" "high" "normal" "low"))

; ------------------------------------------------------------------ types

(type
  (identifier) @type)

(type
  (path
    (identifier) @type .))

((type
  (identifier) @type.builtin)
  (#any-of? @type.builtin "string" "int" "float" "bool" "duration" "size" "json"))

(list_type
  "list" @type.builtin)

(map_type
  "map" @type.builtin)

(typed_record
  name: (identifier) @type)

(typed_record
  name: (path
    (identifier) @type .))

; ------------------------------------------------------------------ calls

(call_expression
  callee: (identifier) @function)

(call_expression
  callee: (path
    (identifier) @function .))

; Pure functions of the standard library, and the backoff forms of step options.
((call_expression
  callee: (identifier) @function.builtin)
  (#any-of? @function.builtin
    "len" "upper" "lower" "trim" "split" "join" "contains" "starts_with" "ends_with" "replace"
    "keys" "values" "range" "min" "max" "sum" "abs" "round" "to_string" "parse_int"
    "parse_float" "parse_json" "to_json" "env" "fixed" "linear" "exponential"))

; Strategies and consensus forms that take arguments.
((call_expression
  callee: (identifier) @constant.builtin)
  (#any-of? @constant.builtin "random" "hash" "quorum"))

; ------------------------------------------------------------------ literals

(string
  "\"" @string)

(string_content) @string

(escape_sequence) @string.escape

[
  (integer)
  (float)
  (duration)
  (size)
] @number

(boolean) @boolean

(none) @constant.builtin

; ------------------------------------------------------------------ keywords

[
  "import"
  "as"
  "const"
  "type"
  "enum"
  "capability"
  "agent"
  "pool"
  "route"
  "workflow"
  "step"
  "output"
  "for"
  "in"
  "with"
  "state"
  "reads"
  "writes"
  "topic"
  "publish"
  "receive"
] @keyword

; ------------------------------------------------------------------ operators and punctuation

(binary_expression
  operator: _ @operator)

(unary_expression
  operator: _ @operator)

[
  "="
  "->"
] @operator

(optional_type
  "?" @operator)

[
  ","
  ":"
  "."
] @punctuation.delimiter

[
  "("
  ")"
  "["
  "]"
  "{"
  "}"
] @punctuation.bracket

(list_type
  [
    "<"
    ">"
  ] @punctuation.bracket)

(map_type
  [
    "<"
    ">"
  ] @punctuation.bracket)

(interpolation
  [
    "${"
    "}"
  ] @punctuation.special)

; ------------------------------------------------------------------ comments

[
  (line_comment)
  (block_comment)
] @comment

(doc_comment) @comment.documentation

; Scopes, definitions and references for `.hive`.
;
; A workflow's parameters and steps are visible in the whole workflow (steps may be used before
; the line that defines them); a loop variable only inside its `for`.

; ------------------------------------------------------------------ scopes

(source_file) @local.scope

(workflow_item) @local.scope

(for_step) @local.scope

; ------------------------------------------------------------------ definitions

(const_item
  name: (identifier) @local.definition)

(parameter
  name: (identifier) @local.definition)

(step
  name: (identifier) @local.definition)

(for_step
  variable: (identifier) @local.definition)

; ------------------------------------------------------------------ references

; Only identifiers in the position of a value; keys, property names and fields are not names
; that a definition could bind.
(binary_expression
  left: (identifier) @local.reference)

(binary_expression
  right: (identifier) @local.reference)

(unary_expression
  operand: (identifier) @local.reference)

(field_expression
  value: (identifier) @local.reference)

(index_expression
  value: (identifier) @local.reference)

(index_expression
  index: (identifier) @local.reference)

(parenthesized_expression
  (identifier) @local.reference)

(list
  (identifier) @local.reference)

(record_field
  value: (identifier) @local.reference)

(argument
  value: (identifier) @local.reference)

(interpolation
  value: (identifier) @local.reference)

(property
  value: (identifier) @local.reference)

(output
  value: (identifier) @local.reference)

(for_step
  iterable: (identifier) @local.reference)

(const_item
  value: (identifier) @local.reference)

(field
  default: (identifier) @local.reference)

(parameter
  default: (identifier) @local.reference)

" Syntax of .hive files (multi-agent workflows for hivec).
"
" Keywords are `syn match` items rather than `syn keyword`: a keyword item would win over the
" key of a record (`output:` in a `simulate` block), and keys may be keywords.
" Among matches that start at the same column the one defined last wins, which the order
" below relies on.

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
syn iskeyword @,48-57,_

" ---------------------------------------------------------------- expressions

syn match hiveDelimiter "[,:.]"
syn match hiveOperator "->\|??\|&&\|||\|==\|!=\|<=\|>=\|\.\.\|[-+*/%<>!=?]"

syn match hiveIdentifier "\<\h\w*\>" contains=NONE
" Types are capitalised by convention (`Review`, `common.Tone`); all-capital names are not types.
syn match hiveUserType "\<\u\w*\l\w*\>"
" `Focus.bugs`
syn match hiveEnumMember "\%(\<\u\w*\l\w*\.\)\@80<=\h\w*\>"
syn match hiveBuiltinType "\%(\%(:\|<\|->\)\s*\)\@8<=\<\%(string\|int\|float\|bool\|json\|duration\|size\|list\|map\)\>"

syn match hiveFunction "\<\h\w*\ze\s*("
syn match hiveBuiltinFunction "\.\@1<!\<\%(len\|upper\|lower\|trim\|split\|join\|contains\|starts_with\|ends_with\|replace\|keys\|values\|range\|min\|max\|sum\|abs\|round\|to_string\|parse_int\|parse_float\|parse_json\|to_json\|env\)\ze\s*("

" Any `name:` is a key (record field, named argument, property) ...
syn match hiveKey "\<\h\w*\ze\s*:"
" ... and the properties of agents, pools, routes and workflows and the step options stand out.
syn match hiveProperty "\<\%(provides\|exec\|builtin\|files\|replicas\|concurrency\|weight\|resources\|heartbeat\|labels\|env\|simulate\|members\|strategy\|max_queue\|fallback\|when\|priority\|timeout\|budget\|retry\|backoff\|on\|broadcast\|after\|consensus\|key\|subscribes\|retain\|dedupe\)\ze\s*:"

" Words with a meaning only as the value of one property.
syn match hiveStrategy "\%(\<strategy\s*:\s*\)\@40<=\%(round_robin\|least_busy\|weighted\|resource_aware\|performance\|random\|hash\|auction\)\>"
syn match hivePriority "\%(\<priority\s*:\s*\)\@40<=\%(critical\|urgent\|high\|normal\|low\)\>"
syn match hiveConsensus "\%(\<consensus\s*:\s*\)\@40<=\%(majority\|unanimous\|quorum\|first\)\>"
syn match hiveBackoff "\%(\<backoff\s*:\s*\)\@40<=\%(fixed\|exponential\|linear\)\>"

" Numbers: integer, then float, duration and size, each winning over the previous one.
syn match hiveNumber "\<\d[0-9_]*\>"
syn match hiveFloat "\<\d[0-9_]*\%(\.\d[0-9_]*\%([eE][+-]\=\d[0-9_]*\)\=\|[eE][+-]\=\d[0-9_]*\)\>"
syn match hiveDuration "\<\d[0-9_]*\%(\.\d[0-9_]*\)\=\%(ms\|s\|m\|h\|d\)\>"
syn match hiveSize "\<\d[0-9_]*\%(kb\|mb\|gb\|tb\)\>"

syn match hiveBoolean "\<\%(true\|false\)\>\%(\s*:\)\@!"
syn match hiveNone "\<none\>\%(\s*:\)\@!"

" ---------------------------------------------------------------- keywords and item names

syn match hiveInclude "\<\%(import\|as\)\>\%(\s*:\)\@!"
syn match hiveStorage "\<\%(type\|enum\|const\|capability\|agent\|pool\|route\|workflow\)\>\%(\s*:\)\@!"
" `topic` starts an item only at the start of a line; `publish` and `receive` only after `=`.
syn match hiveStorage "^topic\>\%(\s*:\)\@!"
syn match hiveKeyword "\<\%(step\|output\|with\)\>\%(\s*:\)\@!"
syn match hiveKeyword "\%(=\s*\)\@20<=\<\%(publish\|receive\)\>\ze\s\+\h"
syn match hiveRepeat "\<\%(for\|in\)\>\%(\s*:\)\@!"

syn match hiveTypeName "\%(\<\%(type\|enum\)\s\+\)\@40<=\h\w*"
syn match hiveItemName "\%(\<\%(capability\|agent\|pool\|workflow\)\s\+\)\@40<=\h\w*\%(\.\h\w*\)*"
syn match hiveItemName "\%(\<route\s\+\)\@40<=\h\w*\%(\.\h\w*\)*"
syn match hiveConstName "\%(\<const\s\+\)\@40<=\h\w*"
syn match hiveStepName "\%(\<step\s\+\)\@40<=\h\w*"
syn match hiveLoopVar "\%(\<for\s\+\)\@40<=\h\w*\ze\s\+in\>"
syn match hiveNamespace "\%(\<as\s\+\)\@40<=\h\w*"

" ---------------------------------------------------------------- strings

syn match hiveEscapeError "\\." contained
syn match hiveEscape +\\\%([ntr"\\$]\|u{\x\{1,6}}\)+ contained
" Braces inside an interpolation, so that `${ {a: 1}.a }` ends at the right `}`.
syn region hiveInterpBraces start="{" end="}" contained transparent contains=@hiveExpr
syn region hiveInterpolation matchgroup=hiveInterpolationDelim start="\${" end="}" contained contains=@hiveExpr
syn region hiveString start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ contains=hiveEscape,hiveEscapeError,hiveInterpolation,@Spell

syn cluster hiveExpr contains=hiveOperator,hiveDelimiter,hiveIdentifier,hiveUserType,hiveEnumMember,hiveFunction,hiveBuiltinFunction,hiveKey,hiveNumber,hiveFloat,hiveDuration,hiveSize,hiveBoolean,hiveNone,hiveString,hiveInterpBraces,hiveRepeat,hiveLineComment,hiveBlockComment

" ---------------------------------------------------------------- comments

syn keyword hiveTodo contained TODO FIXME XXX NOTE
syn match hiveLineComment "//.*$" contains=hiveTodo,@Spell
" `///` is a doc comment, `////` and longer are plain comments.
syn match hiveDocComment "///\%(/\)\@!.*$" contains=hiveTodo,@Spell
syn region hiveBlockComment start="/\*" end="\*/" contains=hiveBlockComment,hiveTodo,@Spell fold

" ---------------------------------------------------------------- links

hi def link hiveOperator           Operator
hi def link hiveDelimiter          Delimiter
hi def link hiveUserType           Type
hi def link hiveEnumMember         Constant
hi def link hiveBuiltinType        Type
hi def link hiveFunction           Function
hi def link hiveBuiltinFunction    Function
hi def link hiveProperty           Identifier
hi def link hiveStrategy           Constant
hi def link hivePriority           Constant
hi def link hiveConsensus          Constant
hi def link hiveBackoff            Function
hi def link hiveNumber             Number
hi def link hiveFloat              Float
hi def link hiveDuration           Number
hi def link hiveSize               Number
hi def link hiveBoolean            Boolean
hi def link hiveNone               Constant
hi def link hiveInclude            Include
hi def link hiveStorage            StorageClass
hi def link hiveKeyword            Keyword
hi def link hiveRepeat             Repeat
hi def link hiveTypeName           Typedef
hi def link hiveItemName           Function
hi def link hiveConstName          Constant
hi def link hiveStepName           Function
hi def link hiveNamespace          Identifier
hi def link hiveString             String
hi def link hiveEscape             SpecialChar
hi def link hiveEscapeError        Error
hi def link hiveInterpolationDelim Special
hi def link hiveTodo               Todo
hi def link hiveLineComment        Comment
hi def link hiveDocComment         SpecialComment
hi def link hiveBlockComment       Comment

let b:current_syntax = 'hive'

let &cpo = s:cpo_save
unlet s:cpo_save

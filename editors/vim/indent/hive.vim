" Indentation of .hive files: one level per unclosed `{`, `[` or `(`.

if exists('b:did_indent')
  finish
endif
let b:did_indent = 1

setlocal indentexpr=GetHiveIndent(v:lnum)
setlocal indentkeys=0{,0},0),0],!^F,o,O,e
setlocal autoindent nosmartindent nocindent nolisp

let b:undo_indent = 'setlocal indentexpr< indentkeys< autoindent< smartindent< cindent< lisp<'

if exists('*GetHiveIndent')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

" The line without strings and comments, so that brackets inside them do not count.
function! s:Code(line) abort
  let l = substitute(a:line, '"\%(\\.\|[^"\\]\)*"', '""', 'g')
  let l = substitute(l, '/\*.\{-}\*/', '', 'g')
  let l = substitute(l, '/\*.*$', '', '')
  return substitute(l, '//.*$', '', '')
endfunction

function! s:InBlockComment(lnum) abort
  let col = match(getline(a:lnum), '\S') + 1
  return col > 0 && synIDattr(synID(a:lnum, col, 1), 'name') ==# 'hiveBlockComment'
        \ && getline(a:lnum) !~# '^\s*/\*'
endfunction

function! GetHiveIndent(lnum) abort
  " Inside a block comment the user's own layout is kept.
  if s:InBlockComment(a:lnum)
    return -1
  endif
  let prev = prevnonblank(a:lnum - 1)
  while prev > 0 && s:InBlockComment(prev)
    let prev = prevnonblank(prev - 1)
  endwhile
  if prev == 0
    return 0
  endif

  " Brackets the previous line leaves open; closers at its start were already outdented.
  let code = substitute(s:Code(getline(prev)), '^\s*[})\]]\+', '', '')
  let opens = len(substitute(code, '[^{(\[]', '', 'g'))
  let closes = len(substitute(code, '[^})\]]', '', 'g'))
  let delta = opens - closes
  " `foo({` opens two but is closed by one `})` line: indent by one level at most.
  let ind = indent(prev) + shiftwidth() * (delta > 0 ? 1 : delta < 0 ? -1 : 0)

  if getline(a:lnum) =~# '^\s*[})\]]'
    let ind -= shiftwidth()
  endif
  return max([ind, 0])
endfunction

let &cpo = s:cpo_save
unlet s:cpo_save

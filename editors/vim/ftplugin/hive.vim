" Filetype settings for .hive files.

if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1

let s:cpo_save = &cpo
set cpo&vim

setlocal commentstring=//\ %s
" `///` before `//` so that doc comments continue as doc comments.
setlocal comments=s1:/*,mb:*,ex:*/,:///,://
setlocal formatoptions-=t formatoptions+=croql
" The examples and the standard library indent by two spaces.
setlocal expandtab shiftwidth=2 softtabstop=2
" `gf` on an import path.
setlocal suffixesadd=.hive

let b:undo_ftplugin = 'setlocal commentstring< comments< formatoptions< expandtab< shiftwidth< softtabstop< suffixesadd<'

let &cpo = s:cpo_save
unlet s:cpo_save

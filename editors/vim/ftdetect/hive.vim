" .hive: multi-agent workflow definitions compiled by hivec.
autocmd BufNewFile,BufRead *.hive set filetype=hive

// External scanner for `.hive`: nested block comments, which a regular token cannot express,
// and the text of strings, so that `/*` inside a string is not taken for a comment.

#include "tree_sitter/parser.h"

#include <stdbool.h>
#include <stdint.h>

// The order of the `externals` array in grammar.js.
enum TokenType {
  STRING_CONTENT,
  BLOCK_COMMENT,
  ERROR_SENTINEL,
};

void *tree_sitter_hive_external_scanner_create(void) { return NULL; }

void tree_sitter_hive_external_scanner_destroy(void *payload) { (void)payload; }

unsigned tree_sitter_hive_external_scanner_serialize(void *payload, char *buffer) {
  (void)payload;
  (void)buffer;
  return 0;
}

void tree_sitter_hive_external_scanner_deserialize(void *payload, const char *buffer,
                                                   unsigned length) {
  (void)payload;
  (void)buffer;
  (void)length;
}

static inline void advance(TSLexer *lexer) { lexer->advance(lexer, false); }

static inline void skip(TSLexer *lexer) { lexer->advance(lexer, true); }

// Text up to a quote, a backslash, a line end or `${`; a `$` not followed by `{` is text.
static bool scan_string_content(TSLexer *lexer) {
  bool has_content = false;
  for (;;) {
    if (lexer->eof(lexer)) {
      break;
    }
    int32_t c = lexer->lookahead;
    if (c == '"' || c == '\\' || c == '\n' || c == '\r') {
      break;
    }
    if (c == '$') {
      lexer->mark_end(lexer);
      advance(lexer);
      if (lexer->lookahead == '{') {
        // The interpolation is the grammar's; end the text before the `$`.
        lexer->result_symbol = STRING_CONTENT;
        return has_content;
      }
      has_content = true;
      continue;
    }
    advance(lexer);
    has_content = true;
  }
  lexer->mark_end(lexer);
  lexer->result_symbol = STRING_CONTENT;
  return has_content;
}

// `/* … */` with nesting, as in the compiler.
static bool scan_block_comment(TSLexer *lexer) {
  while (lexer->lookahead == ' ' || lexer->lookahead == '\t' || lexer->lookahead == '\n' ||
         lexer->lookahead == '\r' || lexer->lookahead == '\f' || lexer->lookahead == '\v') {
    skip(lexer);
  }
  if (lexer->lookahead != '/') {
    return false;
  }
  advance(lexer);
  if (lexer->lookahead != '*') {
    return false;
  }
  advance(lexer);

  unsigned depth = 1;
  while (depth > 0) {
    if (lexer->eof(lexer)) {
      // Unterminated: not a comment, so the parser reports an error here.
      return false;
    }
    int32_t c = lexer->lookahead;
    advance(lexer);
    if (c == '/' && lexer->lookahead == '*') {
      advance(lexer);
      depth++;
    } else if (c == '*' && lexer->lookahead == '/') {
      advance(lexer);
      depth--;
    }
  }
  lexer->mark_end(lexer);
  lexer->result_symbol = BLOCK_COMMENT;
  return true;
}

bool tree_sitter_hive_external_scanner_scan(void *payload, TSLexer *lexer,
                                            const bool *valid_symbols) {
  (void)payload;
  bool recovering = valid_symbols[ERROR_SENTINEL];

  if (valid_symbols[STRING_CONTENT] && !recovering) {
    return scan_string_content(lexer);
  }
  if (valid_symbols[BLOCK_COMMENT]) {
    return scan_block_comment(lexer);
  }
  return false;
}

#!/usr/bin/env python3
"""Stand-in code writer for code_review.hive: `generate(spec, language, temperature) -> Patch`.

Writes a small, self-contained function named after the specification, with unit tests, in
Python, Rust, Go, JavaScript or TypeScript (anything else gets a Python-style sketch marked
as such). `--model` and `temperature` only change the header comment and which of two
equivalent implementations is written.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_agent  # noqa: E402


NOT_NAMES = frozenset("add adds implement write create make function method helper new".split())


def _name(spec, style):
    words = [w for w in hive_agent.keywords(spec) if w not in NOT_NAMES][:4] or ["feature"]
    words = [w.replace("-", "_") for w in words]
    if words[0][0].isdigit():
        words.insert(0, "f")
    if style == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    return "_".join(words)


def _comment(text, marker):
    return "\n".join((marker + " " + line).rstrip() for line in text.splitlines())


def _python(name, header, variant):
    body = (
        '    return " ".join(text.split())\n'
        if variant == 0
        else '    return re.sub(r"\\s+", " ", text).strip()\n'
    )
    imports = "" if variant == 0 else "import re\n\n\n"
    code = (
        '"""%s"""\n\n%s'
        "def %s(text: str) -> str:\n"
        '    """Returns `text` with surrounding whitespace removed and inner runs collapsed."""\n'
        "%s" % (header, imports, name, body)
    )
    tests = (
        "from solution import %(n)s\n\n\n"
        "def test_%(n)s_collapses_whitespace():\n"
        '    assert %(n)s("  a \\t b\\n c ") == "a b c"\n\n\n'
        "def test_%(n)s_keeps_clean_text():\n"
        '    assert %(n)s("a b") == "a b"\n\n\n'
        "def test_%(n)s_empty():\n"
        '    assert %(n)s("") == ""\n' % {"n": name}
    )
    return code, tests


def _rust(name, header, variant):
    body = (
        '    text.split_whitespace().collect::<Vec<_>>().join(" ")\n'
        if variant == 0
        else "    let mut out = String::with_capacity(text.len());\n"
        "    for word in text.split_whitespace() {\n"
        "        if !out.is_empty() {\n"
        "            out.push(' ');\n"
        "        }\n"
        "        out.push_str(word);\n"
        "    }\n"
        "    out\n"
    )
    code = (
        "%s\n\n"
        "/// Returns `text` with surrounding whitespace removed and inner runs collapsed.\n"
        "pub fn %s(text: &str) -> String {\n%s}\n" % (_comment(header, "//!"), name, body)
    )
    tests = (
        "#[cfg(test)]\n"
        "mod tests {\n"
        "    use super::*;\n\n"
        "    #[test]\n"
        "    fn collapses_whitespace() {\n"
        '        assert_eq!(%(n)s("  a \\t b\\n c "), "a b c");\n'
        "    }\n\n"
        "    #[test]\n"
        "    fn keeps_clean_text() {\n"
        '        assert_eq!(%(n)s("a b"), "a b");\n'
        "    }\n\n"
        "    #[test]\n"
        "    fn empty() {\n"
        '        assert_eq!(%(n)s(""), "");\n'
        "    }\n"
        "}\n" % {"n": name}
    )
    return code, tests


def _go(name, header, variant):
    exported = name[0].upper() + name[1:]
    code = (
        "%s\n"
        "package solution\n\n"
        'import "strings"\n\n'
        "// %s returns text with surrounding whitespace removed and inner runs collapsed.\n"
        "func %s(text string) string {\n"
        '\treturn strings.Join(strings.Fields(text), " ")\n'
        "}\n" % (_comment(header, "//"), exported, exported)
    )
    tests = (
        "package solution\n\n"
        'import "testing"\n\n'
        "func Test%(n)sCollapsesWhitespace(t *testing.T) {\n"
        '\tif got := %(n)s("  a \\t b\\n c "); got != "a b c" {\n'
        '\t\tt.Fatalf("got %%q", got)\n'
        "\t}\n"
        "}\n\n"
        "func Test%(n)sEmpty(t *testing.T) {\n"
        '\tif got := %(n)s(""); got != "" {\n'
        '\t\tt.Fatalf("got %%q", got)\n'
        "\t}\n"
        "}\n" % {"n": exported}
    )
    return code, tests


def _javascript(name, header, variant, typed):
    sig = "(text: string): string" if typed else "(text)"
    code = (
        "%s\n\n"
        "/** Returns `text` with surrounding whitespace removed and inner runs collapsed. */\n"
        "export function %s%s {\n"
        '  return text.trim().split(/\\s+/).filter(Boolean).join(" ");\n'
        "}\n" % (_comment(header, "//"), name, sig)
    )
    tests = (
        'import { test } from "node:test";\n'
        'import assert from "node:assert/strict";\n'
        'import { %(n)s } from "./solution.js";\n\n'
        'test("collapses whitespace", () => {\n'
        '  assert.equal(%(n)s("  a \\t b\\n c "), "a b c");\n'
        "});\n\n"
        'test("empty", () => {\n'
        '  assert.equal(%(n)s(""), "");\n'
        "});\n" % {"n": name}
    )
    return code, tests


def generate(inp, flags):
    spec = str(inp["spec"]).strip()
    language = str(inp.get("language") or "python").strip()
    temperature = inp.get("temperature")
    temperature = 0.2 if temperature is None else float(temperature)
    if not spec:
        raise hive_agent.TaskError("the specification is empty", retryable=False)
    model = flags.get("model", "default")
    summary = hive_agent.truncate_words(spec.splitlines()[0], 14)
    # Keep the header inert in every template: no docstring end, escape or block-comment end.
    summary = summary.replace("\\", "/").replace('"""', "'''").replace("*/", "* /")
    header = "%s\n\nWritten by the offline stand-in (model %s, temperature %.2f)." % (summary, model, temperature)
    variant = 1 if temperature >= 0.7 else 0
    lang = language.lower()
    if lang in ("python", "py"):
        code, tests = _python(_name(spec, "snake"), header, variant)
    elif lang in ("rust", "rs"):
        code, tests = _rust(_name(spec, "snake"), header, variant)
    elif lang in ("go", "golang"):
        code, tests = _go(_name(spec, "camel"), header, variant)
    elif lang in ("javascript", "js", "typescript", "ts"):
        code, tests = _javascript(_name(spec, "camel"), header, variant, lang in ("typescript", "ts"))
    else:
        header += "\nNo template for %s: this is a Python sketch to port." % language
        code, tests = _python(_name(spec, "snake"), header, variant)
    return {"language": language, "code": code, "tests": tests}


if __name__ == "__main__":
    hive_agent.serve({"generate": generate})

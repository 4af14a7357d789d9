#!/usr/bin/env bash
# Checks the Vim support headless: filetype detection, the syntax group at chosen positions of
# a sample file, and that re-indenting the repository's examples reproduces them exactly.
# Exit code 0 only if every check passes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
command -v vim >/dev/null || { echo "vim is required (apt-get install vim)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Runs vim on a file with only this runtime directory added; extra arguments are commands.
run_vim() {
  local file="$1"; shift
  local args=()
  for c in "$@"; do args+=(-c "$c"); done
  vim -u NONE -i NONE -Nes -c "set rtp^=$here" -c 'syntax on' -c 'filetype plugin indent on' \
    -c "e $file" "${args[@]}" </dev/null
}

cat >"$tmp/sample.hive" <<'EOF'
/// Doc comment.
//// Plain comment.
/* a /* b */ c */
import "lib/common.hive" as common
const stepper: int = 10_000
type Job { workflows: list<string>, lane: Lane? }
enum Lane { fast, slow }
capability process(job: Job) -> string
agent worker { provides: [process], heartbeat: 200ms, resources: { memory: 512mb, cpu: 0.5 } }
pool dice { members: [worker], strategy: random(two_choices: true) }
workflow main(jobs: list<Job>) -> list<string> {
  priority: high
  step results = for job in jobs { process(job: job) } with { timeout: 1.5s, backoff: exponential(1s, max: 30s), consensus: majority }
  step every = process(job: jobs[0]) with { on: [worker], broadcast: true }
  output { output: "a\tb ${len(jobs) + stepper} c", lane: Lane.fast, ok: true, none_left: none }
}
EOF

# text that finds the line, token (its first occurrence from that text on), expected group
cat >"$tmp/expect.txt" <<'EOF'
/// Doc	///	hiveDocComment
//// Plain	////	hiveLineComment
/* a /*	c	hiveBlockComment
/* a /*	*/	hiveBlockComment
import "lib	import	hiveInclude
import "lib	lib/common.hive	hiveString
as common	common	hiveNamespace
const stepper	const	hiveStorage
const stepper	stepper	hiveConstName
const stepper	int	hiveBuiltinType
const stepper	10_000	hiveNumber
type Job	Job	hiveTypeName
type Job	workflows	hiveKey
type Job	list	hiveBuiltinType
type Job	Lane	hiveUserType
type Job	?	hiveOperator
capability process	process	hiveItemName
capability process	->	hiveOperator
agent worker	worker	hiveItemName
agent worker	provides	hiveProperty
agent worker	200ms	hiveDuration
agent worker	512mb	hiveSize
agent worker	0.5	hiveFloat
pool dice	random	hiveStrategy
pool dice	two_choices	hiveKey
pool dice	true	hiveBoolean
priority: high	high	hivePriority
step results	step	hiveKeyword
step results	results	hiveStepName
step results	for	hiveRepeat
step results	job	hiveLoopVar
step results	in	hiveRepeat
step results	process	hiveFunction
step results	with	hiveKeyword
step results	timeout	hiveProperty
step results	1.5s	hiveDuration
step results	exponential	hiveBackoff
step results	max	hiveKey
step results	majority	hiveConsensus
step every	broadcast	hiveProperty
output {	output	hiveKeyword
{ output:	output	hiveKey
output {	\t	hiveEscape
output {	${	hiveInterpolationDelim
output {	len	hiveBuiltinFunction
output {	stepper	hiveIdentifier
output {	+	hiveOperator
output {	 c"	hiveString
output {	fast	hiveEnumMember
output {	none_left	hiveKey
: none }	none	hiveNone
EOF

# For each expectation: every column of the token has the group (or its name is reported).
cat >"$tmp/check.vim" <<'EOF'
let s:out = []
let s:failed = 0
for s:row in readfile($HIVE_EXPECT)
  let [s:needle, s:token, s:group] = split(s:row, "\t", 1)
  let s:lnum = search('\V' . escape(s:needle, '\'), 'cnw')
  let s:col = s:lnum ? stridx(getline(s:lnum), s:token, stridx(getline(s:lnum), s:needle)) + 1 : 0
  if s:col == 0
    call add(s:out, 'FAIL no ' . string(s:token) . ' on a line with ' . string(s:needle))
    let s:failed += 1
    continue
  endif
  let s:bad = ''
  for s:c in range(s:col, s:col + len(s:token) - 1)
    let s:name = synIDattr(synID(s:lnum, s:c, 1), 'name')
    if s:name !=# s:group
      let s:bad = s:name
      break
    endif
  endfor
  if s:bad !=# '' || s:group ==# ''
    call add(s:out, printf('FAIL line %d %s: expected %s, found %s', s:lnum, string(s:token), s:group, s:bad ==# '' ? '(none)' : s:bad))
    let s:failed += 1
  else
    call add(s:out, 'ok')
  endif
endfor
call writefile(s:out, $HIVE_RESULT)
EOF

passed=0
failed=0

# Filetype and buffer settings.
if run_vim "$repo/examples/code_review.hive" \
  'if &ft !=# "hive" || &commentstring !=# "// %s" || &shiftwidth != 2 || !&expandtab | cq | endif' 'qa!'; then
  passed=$((passed + 1))
else
  echo "FAIL filetype hive and its settings (commentstring, shiftwidth, expandtab) on a .hive file"
  failed=$((failed + 1))
fi

# Syntax groups.
HIVE_EXPECT="$tmp/expect.txt" HIVE_RESULT="$tmp/result.txt" \
  run_vim "$tmp/sample.hive" "source $tmp/check.vim" 'qa!' || true
if [ ! -s "$tmp/result.txt" ]; then
  echo "FAIL the syntax checks did not run"
  failed=$((failed + 1))
else
  grep -v '^ok$' "$tmp/result.txt" || true
  passed=$((passed + $(grep -c '^ok$' "$tmp/result.txt" || true)))
  failed=$((failed + $(grep -vc '^ok$' "$tmp/result.txt" || true)))
fi

# Indentation: strip every line's indent, re-indent with `=`, compare with the original.
shopt -s nullglob
for f in "$repo"/examples/*.hive "$repo"/examples/lib/*.hive "$repo"/stdlib/*.hive; do
  name="${f#"$repo"/}"
  sed 's/^[[:space:]]*//' "$f" >"$tmp/indent.hive"
  run_vim "$tmp/indent.hive" 'normal! gg=G' "w! $tmp/indented.hive" 'qa!' || true
  if cmp -s "$f" "$tmp/indented.hive"; then
    passed=$((passed + 1))
  else
    echo "FAIL re-indenting $name changes it:"
    diff "$f" "$tmp/indented.hive" | head -20 || true
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

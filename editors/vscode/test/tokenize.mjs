// Tokenizes test/fixtures/*.hive with the extension's TextMate grammar, compares each result
// with test/snapshots/<name>.snap, and checks scopes that must hold whatever the snapshots say.
//
//   npm test             compare (a missing snapshot is written)
//   UPDATE=1 npm test    rewrite every snapshot

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vsctm from 'vscode-textmate';
import oniguruma from 'vscode-oniguruma';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const grammarPath = path.join(root, 'syntaxes', 'hive.tmLanguage.json');
const fixturesDir = path.join(root, 'test', 'fixtures');
const snapshotsDir = path.join(root, 'test', 'snapshots');
const update = process.env.UPDATE === '1';

async function loadGrammar() {
  const wasm = fs.readFileSync(path.join(root, 'node_modules/vscode-oniguruma/release/onig.wasm'));
  // A Buffer may be a view into a larger pool: pass exactly its bytes.
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.hive') return null;
      return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
    },
  });
  return registry.loadGrammar('source.hive');
}

// Per line: the tokens, each with its text and scopes (without the root `source.hive`);
// also the rule stack depth at the end, to catch regions that never close.
function tokenize(grammar, text) {
  let stack = vsctm.INITIAL;
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out = lines.map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return {
      line,
      tokens: r.tokens.map((t) => ({
        text: line.slice(t.startIndex, t.endIndex),
        scopes: t.scopes.filter((s) => s !== 'source.hive'),
      })),
    };
  });
  return { lines: out, depth: stack.depth };
}

function render(result) {
  const parts = [];
  result.lines.forEach(({ line, tokens }, i) => {
    parts.push(`${String(i + 1).padStart(4)}| ${line}`);
    for (const t of tokens) {
      if (t.text.trim() === '') continue;
      parts.push(`    ${JSON.stringify(t.text)} ${t.scopes.join(' ')}`);
    }
  });
  return parts.join('\n') + '\n';
}

// A line diff of snapshot (-) against new output (+): hunks with 3 lines of context, at most
// `limit` lines. Longest common subsequence over the part between common prefix and suffix.
function diff(expected, actual, limit = 80) {
  const a = expected.split('\n');
  const b = actual.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  if (x.length * y.length > 4e6) {
    return [`@@ snapshot line ${start + 1}: too many changes to align`,
      ...x.slice(0, limit / 2).map((l) => `- ${l}`), ...y.slice(0, limit / 2).map((l) => `+ ${l}`)].join('\n');
  }
  const w = y.length + 1;
  const lcs = new Uint32Array((x.length + 1) * w);
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1
        : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  // The whole file as operations, so that hunks get context from the common prefix and suffix.
  const ops = a.slice(0, start).map((t, k) => ({ op: ' ', t, line: k + 1 }));
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) { ops.push({ op: ' ', t: x[i], line: start + i + 1 }); i++; j++; }
    else if (i < x.length && (j === y.length || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) { ops.push({ op: '-', t: x[i], line: start + i + 1 }); i++; }
    else { ops.push({ op: '+', t: y[j], line: start + i + 1 }); j++; }
  }
  a.slice(endA).forEach((t, k) => ops.push({ op: ' ', t, line: endA + k + 1 }));
  const near = ops.map(() => false);
  ops.forEach((o, k) => {
    if (o.op === ' ') return;
    for (let d = Math.max(0, k - 3); d <= Math.min(ops.length - 1, k + 3); d++) near[d] = true;
  });
  const out = [];
  ops.forEach((o, k) => {
    if (!near[k]) return;
    if (k === 0 || !near[k - 1]) out.push(`@@ snapshot line ${o.line}`);
    out.push(`${o.op} ${o.t}`);
  });
  if (out.length > limit) return `${out.slice(0, limit).join('\n')}\n… ${out.length - limit} more lines`;
  return out.join('\n');
}

// ---------------------------------------------------------------- assertions

let passed = 0;
let failed = 0;

function report(ok, what, detail) {
  if (ok) { passed++; return; }
  failed++;
  console.log(`FAIL ${what}${detail ? `\n     ${detail}` : ''}`);
}

const has = (t, prefix) => t.scopes.some((s) => s === prefix || s.startsWith(`${prefix}.`));

// The `nth` token (0-based) with text `text` on the first line of `file` containing `needle`.
function token(results, file, needle, text, nth = 0) {
  const lines = results.get(file).lines;
  const line = lines.find((l) => l.line.includes(needle));
  if (!line) return { error: `no line containing ${JSON.stringify(needle)} in ${file}` };
  const found = line.tokens.filter((t) => t.text === text);
  if (found.length <= nth) {
    const shown = line.tokens.map((t) => JSON.stringify(t.text)).join(' ');
    return { error: `no token ${JSON.stringify(text)} (#${nth}) on ${JSON.stringify(line.line)}: ${shown}` };
  }
  return { token: found[nth] };
}

// `want`: scopes (or scope prefixes) the token must have; `not`: prefixes it must not have.
function expectToken(results, file, needle, text, want = [], not = [], nth = 0) {
  const what = `${file}: ${JSON.stringify(text)} in ${JSON.stringify(needle)}`;
  const { token: t, error } = token(results, file, needle, text, nth);
  if (error) return report(false, what, error);
  const missing = want.filter((s) => !has(t, s));
  const extra = not.filter((s) => has(t, s));
  const ok = missing.length === 0 && extra.length === 0;
  const detail = `scopes: ${t.scopes.join(' ') || '(none)'}`
    + (missing.length ? `; missing ${missing.join(', ')}` : '')
    + (extra.length ? `; unexpected ${extra.join(', ')}` : '');
  report(ok, `${what} ${want.length ? `has ${want.join(', ')}` : ''}${not.length ? ` lacks ${not.join(', ')}` : ''}`, ok ? '' : detail);
}

// Every non-blank token of every line of `file` that satisfies `pick` has scope `want`.
function expectLines(results, file, pick, want, what) {
  const lines = results.get(file).lines.filter((l) => pick(l.line));
  if (lines.length === 0) return report(false, `${file}: ${what}`, 'no such line');
  for (const l of lines) {
    const bad = l.tokens.find((t) => t.text.trim() !== '' && !has(t, want));
    if (bad) return report(false, `${file}: ${what}`, `${JSON.stringify(bad.text)} on ${JSON.stringify(l.line)} has ${bad.scopes.join(' ')}`);
  }
  report(true);
}

function assertions(results) {
  const E = 'edge_cases.hive';
  const CR = 'code_review.hive';
  const SC = 'strategy_comparison.hive';

  // Numbers, durations and sizes are told apart.
  expectToken(results, CR, 'timeout: 90s', '90s', ['constant.numeric.duration.hive']);
  expectToken(results, E, 'pause: duration = 1.5s', '1.5s', ['constant.numeric.duration.hive']);
  expectToken(results, E, 'heartbeat: 200ms', '200ms', ['constant.numeric.duration.hive']);
  expectToken(results, E, 'jitter: 30m', '30m', ['constant.numeric.duration.hive']);
  expectToken(results, E, 'memory: 4gb', '4gb', ['constant.numeric.size.hive'], ['constant.numeric.duration']);
  expectToken(results, E, 'memory: 512mb', '512mb', ['constant.numeric.size.hive']);
  expectToken(results, E, 'batch_size: int = 10_000', '10_000', ['constant.numeric.integer.hive']);
  expectToken(results, E, 'ratio: float', '1e-3', ['constant.numeric.float.hive']);
  expectToken(results, E, 'cpu: 0.5', '0.5', ['constant.numeric.float.hive']);
  expectToken(results, E, 'replicas: 1..8', '..', ['keyword.operator.range.hive']);

  // Comments: doc, line, nested block.
  expectLines(results, CR, (l) => /^\s*\/\/\/(?!\/)/.test(l), 'comment.line.documentation.hive', '`///` lines are doc comments');
  expectLines(results, E, (l) => l.trimStart().startsWith('////'), 'comment.line.double-slash.hive', '`////` is a plain comment');
  expectToken(results, E, '////', '//', [], ['comment.line.documentation']);
  expectLines(results, E, (l) => l === '/* a /* b */ c */', 'comment.block.hive', 'a nested block comment is all comment');
  expectLines(results, E, (l) => l.includes('still a comment here'), 'comment.block.hive', 'a multi-line nested block comment stays a comment');
  expectToken(results, E, '/* block */ weight', 'weight', ['variable.other.property.hive'], ['comment']);

  // Strings: escapes, interpolation with nested expressions, nested strings.
  expectToken(results, E, 'const greeting', '\\t', ['constant.character.escape.hive']);
  expectToken(results, E, 'const greeting', '\\"', ['constant.character.escape.hive']);
  expectToken(results, E, 'const greeting', '\\u{1F41D}', ['constant.character.escape.hive']);
  expectToken(results, E, 'const greeting', '${', ['meta.interpolation.hive', 'punctuation.section.interpolation.begin.hive']);
  expectToken(results, E, 'const greeting', 'batch_size', ['meta.interpolation.hive', 'variable.other.hive'], ['string']);
  expectToken(results, E, 'const greeting', '2', ['constant.numeric.integer.hive'], ['string']);
  expectToken(results, E, 'const greeting', ' done', ['string.quoted.double.hive'], ['meta.interpolation']);
  expectToken(results, 'coordinator.hive', 'release ${version}', 'version', ['meta.interpolation.hive'], ['string']);
  expectToken(results, E, 'fallback: [upper(', 'lower', ['support.function.builtin.hive', 'meta.interpolation.hive'], ['string']);
  expectToken(results, E, 'fallback: [upper(', 'x', ['string.quoted.double.hive']);
  expectToken(results, E, 'fallback: [upper(', 'batch_size', ['variable.other.hive'], ['string']);
  expectToken(results, E, 'fallback: [upper(', 'pause', ['variable.other.hive'], ['string']);

  // Keywords, but not inside identifiers; keywords as record keys are keys.
  expectToken(results, E, '  stepper: string', 'stepper', ['variable.other.property.hive'], ['keyword', 'storage']);
  expectToken(results, E, '  workflows: int', 'workflows', ['variable.other.property.hive'], ['keyword', 'storage']);
  expectToken(results, E, 'key: "first-${jobs[0].stepper}"', 'stepper', ['variable.other.property.hive'], ['keyword', 'string']);
  expectToken(results, E, 'step first = process(', 'stepper', ['variable.other.hive'], ['keyword', 'storage']);
  expectToken(results, E, 'const informat', 'informat', ['variable.other.constant.hive'], ['keyword']);
  expectToken(results, E, 'const informat', 'stepper', ['variable.other.hive'], ['keyword', 'string']);
  expectToken(results, E, 'const informat', '-workflows', ['string.quoted.double.hive'], ['storage', 'meta.interpolation']);
  expectToken(results, E, 'output: ["done"]', 'output', ['variable.other.property.hive'], ['keyword']);
  expectToken(results, E, 'output first ??', 'output', ['keyword.other.output.hive']);
  expectToken(results, E, 'step results = for job in jobs', 'step', ['keyword.other.step.hive']);
  expectToken(results, E, 'step results = for job in jobs', 'results', ['entity.name.variable.step.hive']);
  expectToken(results, E, 'step results = for job in jobs', 'for', ['keyword.control.loop.hive']);
  expectToken(results, E, 'step results = for job in jobs', 'job', ['variable.other.loop.hive']);
  expectToken(results, E, 'step results = for job in jobs', 'in', ['keyword.control.loop.hive']);
  expectToken(results, E, 'step results = for job in jobs', 'jobs', ['variable.other.hive'], ['entity.name.type']);
  expectToken(results, E, '} with { timeout: 90s', 'with', ['keyword.other.with.hive']);
  expectToken(results, E, 'import "lib/common.hive" as common', 'import', ['keyword.control.import.hive']);
  expectToken(results, E, 'import "lib/common.hive" as common', 'common', ['entity.name.namespace.hive']);
  expectToken(results, E, 'const ratio', 'const', ['storage.type.const.hive']);

  // Item names and types.
  expectToken(results, E, 'type Job {', 'Job', ['entity.name.type.hive']);
  expectToken(results, E, 'enum Lane', 'fast', ['variable.other.enummember.hive']);
  expectToken(results, E, 'capability process(', 'process', ['entity.name.function.capability.hive']);
  expectToken(results, E, 'capability process(', 'job', ['variable.parameter.hive']);
  expectToken(results, E, 'capability process(', 'Job', ['entity.name.type.hive']);
  expectToken(results, E, 'capability process(', 'int', ['support.type.primitive.hive']);
  expectToken(results, E, 'capability process(', 'list', ['support.type.builtin.hive']);
  expectToken(results, E, 'agent worker_a {', 'worker_a', ['entity.name.type.agent.hive']);
  expectToken(results, E, 'pool balanced', 'balanced', ['entity.name.type.pool.hive']);
  expectToken(results, E, 'workflow main(', 'main', ['entity.name.function.workflow.hive']);
  expectToken(results, E, 'workflow main(', 'string', ['support.type.primitive.hive'], [], 1);
  expectToken(results, E, '  lane: Lane?', '?', ['keyword.operator.optional.hive']);
  expectToken(results, CR, 'route review -> reviewers', 'review', ['entity.name.function.capability.hive']);
  expectToken(results, CR, 'route review -> reviewers', 'reviewers', ['entity.name.type.target.hive']);
  expectToken(results, CR, 'output Decision {', 'Decision', ['entity.name.type.hive']);
  expectToken(results, CR, 'focus: Focus.security', 'security', ['variable.other.enummember.hive'], [], 1);
  expectToken(results, E, 'common.Tone.friendly', 'friendly', ['variable.other.enummember.hive']);
  expectToken(results, E, 'common.Tone.friendly', 'Tone', ['entity.name.type.hive']);

  // Properties, strategies and step options.
  expectToken(results, CR, 'timeout: 90s', 'timeout', ['support.type.property-name.hive']);
  expectToken(results, E, 'provides: [process]', 'provides', ['support.type.property-name.hive']);
  expectToken(results, E, 'budget: { tokens', 'tokens', ['variable.other.property.hive']);
  expectToken(results, E, 'pool balanced', 'weighted', ['support.constant.strategy.hive']);
  expectToken(results, E, 'pool dice', 'random', ['support.constant.strategy.hive'], ['entity.name.function']);
  expectToken(results, E, 'pool dice', 'two_choices', ['variable.parameter.hive']);
  expectToken(results, E, 'pool sticky', 'hash', ['support.constant.strategy.hive']);
  expectToken(results, E, 'route process', 'least_busy', ['support.constant.strategy.hive']);
  expectToken(results, E, 'route process', 'fallback', ['support.type.property-name.hive']);
  expectToken(results, SC, 'round_robin: int', 'round_robin', ['variable.other.property.hive'], ['support.constant']);
  expectToken(results, E, 'replicas: 2, consensus: majority', 'majority', ['support.constant.consensus.hive']);
  expectToken(results, E, 'on: [balanced, dice], broadcast: true', 'broadcast', ['support.type.property-name.hive']);
  expectToken(results, E, 'on: [balanced, dice], broadcast: true', 'true', ['constant.language']);
  expectToken(results, E, 'backoff: exponential', 'exponential', ['support.function.backoff.hive']);
  expectToken(results, E, 'backoff: exponential', 'max', ['variable.parameter.hive']);
  expectToken(results, E, 'priority: urgent', 'urgent', ['support.constant.priority.hive']);
  expectToken(results, E, 'after: [results], priority: low', 'low', ['support.constant.priority.hive']);
  expectToken(results, E, 'after: [results], priority: low', 'key', ['support.type.property-name.hive']);

  // Calls and operators.
  expectToken(results, E, 'step first = process(', 'process', ['entity.name.function.hive']);
  expectToken(results, E, 'step first = process(', 'attempts', ['variable.parameter.hive']);
  expectToken(results, E, 'step first = process(', 'len', ['support.function.builtin.hive']);
  expectToken(results, 'coordinator.hive', 'std.log(', 'std', ['entity.name.namespace.hive']);
  expectToken(results, 'coordinator.hive', 'std.log(', 'log', ['entity.name.function.hive']);
  expectToken(results, E, 'output first ??', '??', ['keyword.operator.coalesce.hive']);
  expectToken(results, E, 'when: len(jobs) > 0 &&', '&&', ['keyword.operator.logical.hive']);
  expectToken(results, E, 'when: len(jobs) > 0 &&', '||', ['keyword.operator.logical.hive']);
  expectToken(results, E, 'when: len(jobs) > 0 &&', '!=', ['keyword.operator.comparison.hive']);
  expectToken(results, E, 'when: len(jobs) > 0 &&', '!', ['keyword.operator.logical.hive']);
  expectToken(results, E, 'workflow main(', '->', ['keyword.operator.arrow.hive']);
  expectToken(results, E, 'pool dice', 'true', ['constant.language.boolean.hive']);

  // No region is left open at the end of a file.
  for (const [file, r] of results) report(r.depth === 1, `${file}: every region closes by the end`, `rule stack depth ${r.depth}`);
}

// The repository's own .hive files (examples, including the error cases, and the standard
// library), when present: each must tokenize with every region closed at its end.
function repositoryFiles() {
  const repo = path.resolve(root, '..', '..');
  const out = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.hive')) out.push(p);
    }
  };
  walk(path.join(repo, 'examples'));
  walk(path.join(repo, 'stdlib'));
  return out.sort().map((p) => [path.relative(repo, p), p]);
}

// ---------------------------------------------------------------- main

const grammar = await loadGrammar();
fs.mkdirSync(snapshotsDir, { recursive: true });
const fixtures = fs.readdirSync(fixturesDir).filter((f) => f.endsWith('.hive')).sort();
const results = new Map();
let snapshotsFailed = 0;

for (const file of fixtures) {
  const result = tokenize(grammar, fs.readFileSync(path.join(fixturesDir, file), 'utf8'));
  results.set(file, result);
  const rendered = render(result);
  const snap = path.join(snapshotsDir, file.replace(/\.hive$/, '.snap'));
  if (update || !fs.existsSync(snap)) {
    fs.writeFileSync(snap, rendered);
    console.log(`wrote   ${path.relative(root, snap)}`);
  } else if (fs.readFileSync(snap, 'utf8') !== rendered) {
    snapshotsFailed++;
    console.log(`FAIL    ${path.relative(root, snap)} differs (UPDATE=1 npm test accepts the new output):`);
    console.log(diff(fs.readFileSync(snap, 'utf8'), rendered));
  } else {
    console.log(`ok      ${path.relative(root, snap)}`);
  }
}

assertions(results);
const scopeChecks = passed + failed;
const others = repositoryFiles();
for (const [name, file] of others) {
  const { depth } = tokenize(grammar, fs.readFileSync(file, 'utf8'));
  report(depth === 1, `${name}: every region closes by the end`, `rule stack depth ${depth}`);
}
console.log(`\nsnapshots: ${fixtures.length} (${snapshotsFailed} differing), scope assertions: ${scopeChecks}, repository files: ${others.length}`);
console.log(`${passed + fixtures.length - snapshotsFailed} passed, ${failed + snapshotsFailed} failed`);
process.exit(failed + snapshotsFailed === 0 && fixtures.length > 0 ? 0 : 1);

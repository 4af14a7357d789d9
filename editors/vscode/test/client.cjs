'use strict';

// Runs src/extension.js against stand-ins for `vscode` and `vscode-languageclient/node`, to
// check the server command, arguments and document selector, and that deactivate stops it.

const Module = require('node:module');
const path = require('node:path');
const assert = require('node:assert/strict');

const calls = [];
let setting = '/opt/hive/bin/hivec';
let failStart = false;
const listeners = [];

class LanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    this.args = { id, name, serverOptions, clientOptions };
    calls.push(['new', this.args]);
  }
  async start() {
    calls.push(['start']);
    if (failStart) throw new Error('spawn hivec ENOENT');
  }
  async stop() { calls.push(['stop']); }
}

const vscode = {
  workspace: {
    getConfiguration: (section) => ({ get: (key) => (section === 'hive' && key === 'server.path' ? setting : undefined) }),
    onDidChangeConfiguration: (fn) => { listeners.push(fn); return { dispose() {} }; },
  },
  window: { showWarningMessage: (msg) => calls.push(['warn', msg]) },
};

const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return vscode;
  if (request === 'vscode-languageclient/node') return { LanguageClient };
  return load.call(this, request, parent, isMain);
};

const ext = require(path.join(__dirname, '..', 'src', 'extension.js'));
let passed = 0;
let failed = 0;
async function check(name, fn) {
  calls.length = 0;
  try { await fn(); passed++; } catch (err) { failed++; console.log(`FAIL ${name}\n${err.message}`); }
}

(async () => {
  const context = { subscriptions: [] };
  await check('activate starts `<hive.server.path> lsp` for hive documents', async () => {
    await ext.activate(context);
    const created = calls.find((c) => c[0] === 'new')[1];
    assert.deepEqual(created.serverOptions, { command: '/opt/hive/bin/hivec', args: ['lsp'] });
    assert.deepEqual(created.clientOptions.documentSelector, [{ language: 'hive' }]);
    assert.ok(calls.some((c) => c[0] === 'start'));
  });
  await check('changing hive.server.path restarts the server', async () => {
    setting = 'hivec-dev';
    await listeners[0]({ affectsConfiguration: (s) => s === 'hive.server.path' });
    assert.deepEqual(calls.map((c) => c[0]), ['stop', 'new', 'start']);
    assert.equal(calls[1][1].serverOptions.command, 'hivec-dev');
  });
  await check('deactivate stops the server', async () => {
    await ext.deactivate();
    assert.deepEqual(calls.map((c) => c[0]), ['stop']);
  });
  await check('an empty setting falls back to hivec; a failed start only warns', async () => {
    setting = '';
    failStart = true;
    await ext.activate({ subscriptions: [] });
    assert.equal(calls.find((c) => c[0] === 'new')[1].serverOptions.command, 'hivec');
    assert.match(calls.find((c) => c[0] === 'warn')[1], /could not start `hivec lsp`/);
  });
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();

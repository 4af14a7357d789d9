'use strict';

// The client side of the hive language server: syntax highlighting comes from the TextMate
// grammar alone; diagnostics, hover and completion come from `hivec lsp` over stdio.

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

function serverCommand() {
  const configured = vscode.workspace.getConfiguration('hive').get('server.path');
  return typeof configured === 'string' && configured.trim() !== '' ? configured.trim() : 'hivec';
}

async function startClient() {
  const command = serverCommand();
  const serverOptions = { command, args: ['lsp'] };
  const clientOptions = {
    documentSelector: [{ language: 'hive' }],
  };
  client = new LanguageClient('hive', 'Hive Language Server', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    // Highlighting does not need the server, so a missing `hivec` is a warning, not a failure.
    const reason = err && err.message ? err.message : String(err);
    vscode.window.showWarningMessage(
      `Hive: could not start \`${command} lsp\` (${reason}). Set "hive.server.path" to the hivec executable.`,
    );
  }
}

async function stopClient() {
  if (!client) return;
  const running = client;
  client = undefined;
  try {
    await running.stop();
  } catch {
    // A server that never started cannot be stopped; nothing is left to clean up.
  }
}

/** @param {import('vscode').ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('hive.server.path')) {
        await stopClient();
        await startClient();
      }
    }),
  );
  await startClient();
}

function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate };

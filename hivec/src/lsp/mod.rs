//! `hivec lsp`: the language server, over stdio, on the compiler's database.
//!
//! Invariant: every answer comes from the same queries as `hivec check` (diagnostics) and
//! `compiler::ide` (everything else); this module only converts between the protocol and them.

mod convert;
mod requests;
mod state;
mod transport;

use crate::out::{self, errln};
use convert::path_of;
use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, HoverProviderCapability, OneOf,
    PublishDiagnosticsParams, RenameOptions, ServerCapabilities, TextDocumentSyncCapability,
    TextDocumentSyncKind,
};
use state::State;
use std::process::ExitCode;

/// Runs the server until the client says `exit`.
pub fn run() -> ExitCode {
    let (connection, io) = transport::stdio();
    // On an error the reader thread may still wait for input that never comes: the server
    // ends without joining it.
    if let Err(e) = serve(&connection) {
        if e.is::<Closed>() {
            return ExitCode::from(out::CLOSED);
        }
        errln!("error: hivec lsp: {e}");
        return ExitCode::from(1);
    }
    drop(connection);
    match io.join() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: hivec lsp: {e}");
            ExitCode::from(1)
        }
    }
}

/// The writer thread is gone: writing to stdout failed, so the client is not listening.
#[derive(Debug)]
struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the client closed the server's output")
    }
}

impl std::error::Error for Closed {}

/// Sends `message` to the client.
fn send(connection: &Connection, message: Message) -> Result<(), Closed> {
    connection.sender.send(message).map_err(|_| Closed)
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(
            TextDocumentSyncKind::INCREMENTAL,
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), ":".into(), "(".into()]),
            ..Default::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        ..Default::default()
    }
}

fn serve(connection: &Connection) -> Result<(), Box<dyn std::error::Error>> {
    let caps = serde_json::to_value(capabilities())?;
    connection.initialize(caps)?;
    let mut state = State::new();
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(());
                }
                let resp = requests::handle(&mut state, req);
                send(connection, Message::Response(resp))?;
            }
            Message::Notification(n) => match notify(&mut state, n) {
                Effect::Nothing => {}
                Effect::Changed => publish(connection, &state)?,
                Effect::Closed(uri) => {
                    // A closed document's problems leave the editor's list.
                    send_diagnostics(connection, uri, Vec::new())?;
                    publish(connection, &state)?;
                }
            },
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// What a notification did to the documents.
enum Effect {
    /// Nothing to publish.
    Nothing,
    /// A document was opened or changed.
    Changed,
    /// A document was closed.
    Closed(lsp_types::Uri),
}

/// Applies a document notification.
fn notify(state: &mut State, n: Notification) -> Effect {
    fn params<P: serde::de::DeserializeOwned>(n: Notification) -> Option<P> {
        serde_json::from_value(n.params).ok()
    }
    let effect = match n.method.as_str() {
        DidOpenTextDocument::METHOD => {
            params::<lsp_types::DidOpenTextDocumentParams>(n).and_then(|p| {
                let path = path_of(&p.text_document.uri)?;
                state.open(path, p.text_document.uri, p.text_document.text);
                Some(Effect::Changed)
            })
        }
        DidChangeTextDocument::METHOD => params::<lsp_types::DidChangeTextDocumentParams>(n)
            .and_then(|p| {
                let path = path_of(&p.text_document.uri)?;
                let changed = state.change(&path, |text| {
                    for change in p.content_changes {
                        match change.range {
                            Some(range) => {
                                let lines = convert::Lines::new(text);
                                let start = lines.offset(range.start) as usize;
                                let end = (lines.offset(range.end) as usize).max(start);
                                text.replace_range(start..end, &change.text);
                            }
                            None => *text = change.text,
                        }
                    }
                });
                changed.then_some(Effect::Changed)
            }),
        DidCloseTextDocument::METHOD => {
            params::<lsp_types::DidCloseTextDocumentParams>(n).map(|p| {
                if let Some(path) = path_of(&p.text_document.uri) {
                    state.close(&path);
                }
                Effect::Closed(p.text_document.uri)
            })
        }
        _ => None,
    };
    effect.unwrap_or(Effect::Nothing)
}

fn publish(connection: &Connection, state: &State) -> Result<(), Box<dyn std::error::Error>> {
    for (uri, diagnostics) in state.diagnostics() {
        send_diagnostics(connection, uri, diagnostics)?;
    }
    Ok(())
}

fn send_diagnostics(
    connection: &Connection,
    uri: lsp_types::Uri,
    diagnostics: Vec<lsp_types::Diagnostic>,
) -> Result<(), Box<dyn std::error::Error>> {
    let params = PublishDiagnosticsParams {
        uri,
        diagnostics,
        version: None,
    };
    let notification = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
    Ok(send(connection, Message::Notification(notification))?)
}

/// A response to `req` from a handler's result.
fn reply<T: serde::Serialize>(req: &Request, result: Result<T, String>) -> Response {
    match result {
        Ok(v) => Response::new_ok(req.id.clone(), v),
        Err(e) => Response::new_err(
            req.id.clone(),
            lsp_server::ErrorCode::RequestFailed as i32,
            e,
        ),
    }
}

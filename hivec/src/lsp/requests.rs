//! Requests: hover, definition, references, completion, outline, formatting, quick fixes and
//! rename, each answered from `hive_compiler::ide`.

// `WorkspaceEdit` is keyed by `Uri`, whose cached parts clippy takes for mutable state; its
// hash never changes.
#![allow(clippy::mutable_key_type)]

use super::convert::{Lines, path_of};
use super::reply;
use super::state::State;
use hive_compiler::check::scope::DefKind;
use hive_compiler::db::SourceFile;
use hive_compiler::ide::complete::{self, Context, ItemKind};
use hive_compiler::ide::outline::{self, Part};
use hive_compiler::ide::{Target, hover, navigate};
use hive_compiler::syntax::ast::ItemKeyword;
use lsp_server::{Request, Response};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    PrepareRenameRequest, References, Rename, Request as _,
};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CompletionItem, CompletionItemKind,
    DocumentSymbol, Hover, HoverContents, Location, MarkupContent, MarkupKind,
    PrepareRenameResponse, SymbolKind, TextDocumentPositionParams, TextEdit, Uri, WorkspaceEdit,
};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Answers one request.
pub fn handle(state: &mut State, req: Request) -> Response {
    match req.method.as_str() {
        HoverRequest::METHOD => with(&req, |p: lsp_types::HoverParams| {
            hover_at(state, &p.text_document_position_params)
        }),
        GotoDefinition::METHOD => with(&req, |p: lsp_types::GotoDefinitionParams| {
            let Some((file, offset)) = at(state, &p.text_document_position_params) else {
                return Ok(None);
            };
            let target = navigate::definition(&state.host.db, file, offset);
            Ok(target.and_then(|t| locations(state, &[t]).pop()))
        }),
        References::METHOD => with(&req, |p: lsp_types::ReferenceParams| {
            let Some((file, offset)) = at(state, &p.text_document_position) else {
                return Ok(Vec::new());
            };
            let with_decl = p.context.include_declaration;
            let targets =
                navigate::references(&state.host.db, state.host.ws, file, offset, with_decl);
            Ok(locations(state, &targets))
        }),
        Completion::METHOD => with(&req, |p: lsp_types::CompletionParams| {
            Ok(completions(state, &p.text_document_position))
        }),
        DocumentSymbolRequest::METHOD => with(&req, |p: lsp_types::DocumentSymbolParams| {
            let Some(path) = path_of(&p.text_document.uri) else {
                return Ok(Vec::new());
            };
            let Some((file, text)) = state.file(&path) else {
                return Ok(Vec::new());
            };
            let lines = Lines::new(text);
            Ok(outline::outline(&state.host.db, file)
                .iter()
                .map(|e| symbol(e, &lines))
                .collect::<Vec<_>>())
        }),
        Formatting::METHOD => with(&req, |p: lsp_types::DocumentFormattingParams| {
            let Some((_, text)) = path_of(&p.text_document.uri).and_then(|p| state.file(&p)) else {
                return Ok(None);
            };
            // A file with syntax errors is not formatted; its errors are already shown.
            let Ok(out) = hive_compiler::format::format(text) else {
                return Ok(None);
            };
            let lines = Lines::new(text);
            let whole = lines.range(0, text.len() as u32);
            Ok(Some(if out == text {
                Vec::new()
            } else {
                vec![TextEdit::new(whole, out)]
            }))
        }),
        CodeActionRequest::METHOD => with(&req, |p: lsp_types::CodeActionParams| {
            let mut actions = Vec::new();
            for d in &p.context.diagnostics {
                let Some(fix) = d
                    .data
                    .as_ref()
                    .and_then(|v| v.get("fix"))
                    .and_then(|v| v.as_str())
                else {
                    continue;
                };
                let range = d
                    .data
                    .as_ref()
                    .and_then(|v| v.get("range"))
                    .and_then(|r| serde_json::from_value(r.clone()).ok())
                    .unwrap_or(d.range);
                let edit = TextEdit::new(range, fix.to_string());
                let changes = HashMap::from([(p.text_document.uri.clone(), vec![edit])]);
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Change to `{fix}`"),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![d.clone()]),
                    edit: Some(WorkspaceEdit::new(changes)),
                    is_preferred: Some(true),
                    ..Default::default()
                }));
            }
            Ok(actions)
        }),
        PrepareRenameRequest::METHOD => with(&req, |p: TextDocumentPositionParams| {
            let Some((file, offset)) = at(state, &p) else {
                return Ok(None);
            };
            let t = navigate::prepare_rename(&state.host.db, file, offset)
                .map_err(|e| e.to_string())?;
            Ok(locations(state, &[t])
                .pop()
                .map(|l| PrepareRenameResponse::Range(l.range)))
        }),
        Rename::METHOD => with(&req, |p: lsp_types::RenameParams| {
            let Some((file, offset)) = at(state, &p.text_document_position) else {
                return Ok(None);
            };
            let targets =
                navigate::rename(&state.host.db, state.host.ws, file, offset, &p.new_name)
                    .map_err(|e| e.to_string())?;
            let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
            for l in locations(state, &targets) {
                changes
                    .entry(l.uri)
                    .or_default()
                    .push(TextEdit::new(l.range, p.new_name.clone()));
            }
            Ok(Some(WorkspaceEdit::new(changes)))
        }),
        _ => Response::new_err(
            req.id.clone(),
            lsp_server::ErrorCode::MethodNotFound as i32,
            format!("hivec lsp does not handle `{}`", req.method),
        ),
    }
}

/// Decodes the parameters, runs `f`, encodes its answer.
fn with<P: DeserializeOwned, T: serde::Serialize>(
    req: &Request,
    f: impl FnOnce(P) -> Result<T, String>,
) -> Response {
    match serde_json::from_value::<P>(req.params.clone()) {
        Ok(p) => reply(req, f(p)),
        Err(e) => Response::new_err(
            req.id.clone(),
            lsp_server::ErrorCode::InvalidParams as i32,
            e.to_string(),
        ),
    }
}

/// The file and byte offset of a position in an open document.
fn at(state: &State, p: &TextDocumentPositionParams) -> Option<(SourceFile, u32)> {
    let path = path_of(&p.text_document.uri)?;
    let (file, text) = state.file(&path)?;
    Some((file, Lines::new(text).offset(p.position)))
}

fn locations(state: &State, targets: &[Target]) -> Vec<Location> {
    let mut lines = HashMap::new();
    targets
        .iter()
        .filter_map(|t| state.location(t.file, t.span, &mut lines))
        .collect()
}

fn hover_at(state: &State, p: &TextDocumentPositionParams) -> Result<Option<Hover>, String> {
    let Some((file, offset)) = at(state, p) else {
        return Ok(None);
    };
    let Some((span, text)) = hover::hover(&state.host.db, file, offset) else {
        return Ok(None);
    };
    let lines = Lines::new(file.text(&state.host.db));
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(lines.range(span.start, span.end)),
    }))
}

fn completions(state: &mut State, p: &TextDocumentPositionParams) -> Vec<CompletionItem> {
    let Some(path) = path_of(&p.text_document.uri) else {
        return Vec::new();
    };
    let Some((file, text)) = state.file(&path) else {
        return Vec::new();
    };
    let text = text.to_string();
    let offset = Lines::new(&text).offset(p.position) as usize;
    let site = complete::site(&text, offset);
    let items = match &site.context {
        Context::Member { prefix, dot, end } => {
            let patched = complete::member_patch(&text, *dot, *end);
            let scratch = state.host.scratch(file, patched);
            complete::members(&state.host.db, scratch, *dot, prefix)
        }
        _ => complete::complete(&state.host.db, file, &site),
    };
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|c| seen.insert(c.label.clone()))
        .map(|c| CompletionItem {
            label: c.label,
            kind: Some(kind_of(c.kind)),
            detail: c.detail,
            ..Default::default()
        })
        .collect()
}

fn kind_of(kind: ItemKind) -> CompletionItemKind {
    match kind {
        ItemKind::Keyword => CompletionItemKind::KEYWORD,
        ItemKind::Property => CompletionItemKind::PROPERTY,
        ItemKind::Local => CompletionItemKind::VARIABLE,
        ItemKind::Field => CompletionItemKind::FIELD,
        ItemKind::Value => CompletionItemKind::ENUM_MEMBER,
        ItemKind::Function => CompletionItemKind::FUNCTION,
        ItemKind::Item(k) => match k {
            DefKind::Const => CompletionItemKind::CONSTANT,
            DefKind::Type => CompletionItemKind::STRUCT,
            DefKind::Enum => CompletionItemKind::ENUM,
            DefKind::Capability => CompletionItemKind::INTERFACE,
            DefKind::Agent | DefKind::Pool => CompletionItemKind::CLASS,
            DefKind::Workflow => CompletionItemKind::FUNCTION,
            DefKind::Module => CompletionItemKind::MODULE,
            DefKind::State => CompletionItemKind::VARIABLE,
            DefKind::Topic => CompletionItemKind::EVENT,
        },
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written out.
fn symbol(e: &outline::Entry, lines: &Lines) -> DocumentSymbol {
    let kind = match e.kind {
        Part::Item(k) => match k {
            ItemKeyword::Type => SymbolKind::STRUCT,
            ItemKeyword::Enum => SymbolKind::ENUM,
            ItemKeyword::Capability => SymbolKind::INTERFACE,
            ItemKeyword::Agent | ItemKeyword::Pool => SymbolKind::CLASS,
            ItemKeyword::Workflow => SymbolKind::FUNCTION,
            ItemKeyword::Const => SymbolKind::CONSTANT,
            ItemKeyword::Import => SymbolKind::MODULE,
            ItemKeyword::Route => SymbolKind::EVENT,
            // As completion shows them.
            ItemKeyword::State => SymbolKind::VARIABLE,
            ItemKeyword::Topic => SymbolKind::EVENT,
        },
        Part::Field => SymbolKind::FIELD,
        Part::Value => SymbolKind::ENUM_MEMBER,
        Part::Parameter => SymbolKind::VARIABLE,
        Part::Step => SymbolKind::METHOD,
    };
    DocumentSymbol {
        name: e.name.clone(),
        detail: Some(e.kind.word().to_string()),
        kind,
        tags: None,
        deprecated: None,
        range: lines.range(e.span.start, e.span.end),
        selection_range: lines.range(e.name_span.start, e.name_span.end),
        children: (!e.children.is_empty())
            .then(|| e.children.iter().map(|c| symbol(c, lines)).collect()),
    }
}

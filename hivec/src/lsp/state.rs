//! The server's state: the compiler's analysis host, the editor's URIs of its documents, and
//! diagnostics converted to the protocol.

use super::convert::{Lines, uri_of};
use hive_compiler::db::{Loc, SourceFile};
use hive_compiler::diagnostic::{Diagnostic, Severity};
use hive_compiler::ide::host::Host;
use hive_compiler::workspace::normalize;
use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Open documents and the database they are checked in.
pub struct State {
    /// The documents over the compiler's database.
    pub host: Host,
    /// Each open document's URI as the editor names it, by normalized path.
    uris: BTreeMap<PathBuf, Uri>,
    /// Where the standard library was written for editors to show (see [`State::std_path`]).
    std_copy: std::cell::OnceCell<Option<PathBuf>>,
}

impl State {
    /// No documents yet.
    pub fn new() -> Self {
        State {
            host: Host::default(),
            uris: BTreeMap::new(),
            std_copy: std::cell::OnceCell::new(),
        }
    }

    /// The standard library is built in and has no file, so a definition in it points at a
    /// read-only copy written once per version under the temporary directory. `None` if it
    /// cannot be written; definitions there then go nowhere.
    fn std_path(&self) -> Option<&Path> {
        self.std_copy
            .get_or_init(|| {
                let dir = std::env::temp_dir().join(format!("hive-{}", env!("CARGO_PKG_VERSION")));
                let path = dir.join("std.hive");
                let text = hive_compiler::workspace::STD_SOURCE;
                if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
                    std::fs::create_dir_all(&dir).ok()?;
                    let _ = std::fs::remove_file(&path);
                    std::fs::write(&path, text).ok()?;
                    let mut perms = std::fs::metadata(&path).ok()?.permissions();
                    perms.set_readonly(true);
                    let _ = std::fs::set_permissions(&path, perms);
                }
                Some(normalize(&path))
            })
            .as_deref()
    }

    /// Whether `key` (normalized) is the copy of the standard library.
    fn is_std_copy(&self, key: &Path) -> bool {
        self.std_copy.get().and_then(Option::as_deref) == Some(key)
    }

    /// Opens a document (or replaces its text).
    pub fn open(&mut self, path: PathBuf, uri: Uri, text: String) {
        let key = normalize(&path);
        if self.is_std_copy(&key) {
            // Shown by a definition: answered from the built-in file, never checked as a
            // document of its own (its names would clash with the real standard library).
            return;
        }
        self.uris.insert(key.clone(), uri);
        self.host.open(&key, text);
    }

    /// Edits an open document's text in place; false if it is not open.
    pub fn change(&mut self, path: &Path, edit: impl FnOnce(&mut String)) -> bool {
        self.host.change(path, edit)
    }

    /// Closes a document.
    pub fn close(&mut self, path: &Path) {
        self.uris.remove(&normalize(path));
        self.host.close(path);
    }

    /// The loaded file of an open document (or of the standard library's copy), with its
    /// text.
    pub fn file(&self, path: &Path) -> Option<(SourceFile, &str)> {
        if self.is_std_copy(&normalize(path)) {
            let std = self.host.std_file()?;
            return Some((std, std.text(&self.host.db).as_str()));
        }
        self.host.file(path)
    }

    /// The diagnostics of every open document, as the protocol has them.
    pub fn diagnostics(&self) -> Vec<(Uri, Vec<lsp_types::Diagnostic>)> {
        let mut lines: HashMap<SourceFile, Lines> = HashMap::new();
        self.host
            .diagnostics()
            .into_iter()
            .filter_map(|(path, list)| {
                let uri = self.uris.get(&path)?.clone();
                let list = list.iter().map(|d| self.convert(d, &mut lines)).collect();
                Some((uri, list))
            })
            .collect()
    }

    /// The location of a span of a loaded file (in the standard library: of its copy).
    pub fn location<'a>(
        &'a self,
        file: SourceFile,
        span: hive_compiler::syntax::Span,
        lines: &mut HashMap<SourceFile, Lines<'a>>,
    ) -> Option<Location> {
        let uri = if file.is_std(&self.host.db) {
            uri_of(self.std_path()?)?
        } else {
            uri_of(file.path(&self.host.db))?
        };
        let lines = lines
            .entry(file)
            .or_insert_with(|| Lines::new(file.text(&self.host.db)));
        Some(Location::new(uri, lines.range(span.start, span.end)))
    }

    fn convert<'a>(
        &'a self,
        d: &Diagnostic<Loc>,
        lines: &mut HashMap<SourceFile, Lines<'a>>,
    ) -> lsp_types::Diagnostic {
        let span = d.at.absolute(&self.host.db);
        let range = self
            .location(d.at.file, span, lines)
            .map(|l| l.range)
            .unwrap_or_default();
        let mut related: Vec<DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .filter_map(|l| {
                let location = self.location(l.at.file, l.at.absolute(&self.host.db), lines)?;
                Some(DiagnosticRelatedInformation {
                    location,
                    message: l.message.clone(),
                })
            })
            .collect();
        if let Some(help) = &d.help
            && let Some(location) = self.location(d.at.file, span, lines)
        {
            related.push(DiagnosticRelatedInformation {
                location,
                message: format!("help: {help}"),
            });
        }
        // The quick fix travels with the diagnostic: its range may differ from the diagnostic's.
        let data = d.fix.as_ref().and_then(|fix| {
            let at = self.location(fix.at.file, fix.at.absolute(&self.host.db), lines)?;
            Some(serde_json::json!({ "fix": fix.replacement, "range": at.range }))
        });
        lsp_types::Diagnostic {
            range,
            severity: Some(match d.severity() {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.code().to_string())),
            source: Some("hivec".into()),
            message: d.message.clone(),
            related_information: (!related.is_empty()).then_some(related),
            data,
            ..Default::default()
        }
    }
}

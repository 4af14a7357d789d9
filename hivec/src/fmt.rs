//! `hivec fmt`: rewrite files in the canonical layout, or list those that are not in it.

use crate::Color;
use crate::check::use_color;
use crate::out::{self, errln, outln};
use hive_compiler::db::{Database, Loc, SourceFile};
use hive_compiler::format::{FormatError, format};
use hive_compiler::render::{Renderer, Style};
use hive_compiler::workspace::{Disk, FileSource, ReadError};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs `hivec fmt`: exit 0 when every file is (now) formatted, 1 when `--check` found files
/// that are not or a file could not be formatted, 2 when a path could not be read.
pub fn run(paths: &[PathBuf], check: bool, color: Color) -> ExitCode {
    let color = use_color(color, std::io::stderr().is_terminal());
    if paths.len() == 1 && paths[0] == Path::new("-") {
        return stdin(color);
    }
    let mut files = Vec::new();
    for p in paths {
        if Disk.is_dir(p) {
            match Disk.list(p) {
                Ok(found) => files.extend(found),
                Err(e) => {
                    errln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    let (mut unformatted, mut failed) = (0, 0);
    for file in &files {
        // As `check` reads files: only regular ones, within the size limit.
        let text = match Disk.read(file).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => {
                errln!("error: {}: not UTF-8 text", file.display());
                return ExitCode::from(2);
            }
            Err(e) => {
                let why = match e {
                    ReadError::NotFound => "no such file".to_string(),
                    ReadError::TooLarge(n) => format!(
                        "file is {n} bytes, above the limit of {} bytes",
                        hive_compiler::syntax::limits::MAX_FILE_BYTES
                    ),
                    ReadError::NotRegular(what) => format!("not a regular file ({what})"),
                    ReadError::Other(m) => m,
                };
                errln!("error: {}: {why}", file.display());
                return ExitCode::from(2);
            }
        };
        match one(file, &text, color) {
            Some(out) if out == text => {}
            Some(_) if check => {
                outln!("{}", file.display());
                unformatted += 1;
            }
            Some(formatted) => {
                if let Err(e) = std::fs::write(file, formatted) {
                    errln!("error: {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            }
            None => failed += 1,
        }
    }
    if check && unformatted > 0 {
        errln!(
            "{unformatted} of {} file{} not formatted; `hivec fmt` rewrites them",
            files.len(),
            if files.len() == 1 { " is" } else { "s are" }
        );
    }
    if unformatted + failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Formats standard input to standard output (for editors and pipes).
fn stdin(color: bool) -> ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        errln!("error: standard input: {e}");
        return ExitCode::from(2);
    }
    match one(Path::new("<stdin>"), &text, color) {
        Some(formatted) => {
            out::stdout(&formatted);
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}

/// The formatted text, or `None` after printing why there is none.
fn one(path: &Path, text: &str, color: bool) -> Option<String> {
    match format(text) {
        Ok(out) => Some(out),
        Err(e) => {
            errln!("error: {}: {e}", path.display());
            if let FormatError::Syntax(diagnostics) = e {
                let db = Database::default();
                let file = SourceFile::new(&db, path.to_path_buf(), text.into(), Vec::new(), false);
                let mut render = Renderer::new(&db, Style { color });
                for d in diagnostics {
                    let d = d.map_loc(|span| Loc {
                        file,
                        item: None,
                        span,
                    });
                    out::stderr(&render.human(&d));
                }
            }
            None
        }
    }
}

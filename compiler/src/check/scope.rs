//! Names: what each name of a file refers to, duplicates, imports, and path resolution.

use crate::codes::Code;
use crate::db::{Db, ImportTarget, Loc, SourceFile, report};
use crate::diagnostic::Diagnostic;
use crate::queries::{item, item_heads, parse};
use crate::syntax::ast::{ItemKeyword, ItemKind, Path};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An item of some file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemRef {
    /// The declaring file.
    pub file: SourceFile,
    /// Its index among the file's items.
    pub index: u32,
}

impl Ord for ItemRef {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use salsa::plumbing::AsId;
        (self.file.as_id(), self.index).cmp(&(other.file.as_id(), other.index))
    }
}

impl PartialOrd for ItemRef {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ItemRef {
    /// A location inside the item.
    pub fn loc(self, span: crate::syntax::Span) -> Loc {
        Loc::item(self.file, self.index, span)
    }
}

/// What a name can denote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefKind {
    /// `const`
    Const,
    /// `type` (a record)
    Type,
    /// `enum`
    Enum,
    /// `capability`
    Capability,
    /// `agent`
    Agent,
    /// `pool`
    Pool,
    /// `workflow`
    Workflow,
    /// An import alias: its members are reached as `alias.name`.
    Module,
    /// `state`: a cell shared by a run, read as `state.name`.
    State,
    /// `topic`: typed messages of a run, published and received by steps and agents.
    Topic,
}

impl DefKind {
    /// The word used in messages.
    pub fn word(self) -> &'static str {
        match self {
            DefKind::Const => "constant",
            DefKind::Type => "type",
            DefKind::Enum => "enum",
            DefKind::Capability => "capability",
            DefKind::Agent => "agent",
            DefKind::Pool => "pool",
            DefKind::Workflow => "workflow",
            DefKind::Module => "import",
            DefKind::State => "state cell",
            DefKind::Topic => "topic",
        }
    }

    /// The word with its article: `a constant`, `an agent`.
    pub fn a_word(self) -> String {
        a(self.word())
    }

    /// The kind an item keyword declares; a route declares no name.
    pub fn of(keyword: ItemKeyword) -> Option<DefKind> {
        Some(match keyword {
            ItemKeyword::Const => DefKind::Const,
            ItemKeyword::Type => DefKind::Type,
            ItemKeyword::Enum => DefKind::Enum,
            ItemKeyword::Capability => DefKind::Capability,
            ItemKeyword::Agent => DefKind::Agent,
            ItemKeyword::Pool => DefKind::Pool,
            ItemKeyword::Workflow => DefKind::Workflow,
            ItemKeyword::Import => DefKind::Module,
            ItemKeyword::State => DefKind::State,
            ItemKeyword::Topic => DefKind::Topic,
            ItemKeyword::Route => return None,
        })
    }
}

/// A name's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Def {
    /// What it is.
    pub kind: DefKind,
    /// The declaring item (for a module, the `import` item).
    pub item: ItemRef,
    /// For a module, the imported file.
    pub module: Option<SourceFile>,
}

/// The names visible in a file: its own items, those of its unaliased imports and the
/// standard library. Capability names are kept whole (`std.shell`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Name → meaning.
    pub names: BTreeMap<String, Def>,
    /// The names of each kind, shared by every "did you mean" drawn from them.
    by_kind: Vec<(DefKind, Arc<[String]>)>,
}

impl Scope {
    fn new(names: BTreeMap<String, Def>) -> Self {
        let mut by_kind: Vec<(DefKind, Vec<String>)> = Vec::new();
        for (name, def) in &names {
            match by_kind.iter_mut().find(|(k, _)| *k == def.kind) {
                Some((_, list)) => list.push(name.clone()),
                None => by_kind.push((def.kind, vec![name.clone()])),
            }
        }
        Scope {
            names,
            by_kind: by_kind.into_iter().map(|(k, l)| (k, l.into())).collect(),
        }
    }

    /// The lists of names of the given kinds, for a [`Diagnostic::with_suggestion`].
    pub fn suggestible(&self, kinds: &[DefKind]) -> Vec<Arc<[String]>> {
        self.by_kind
            .iter()
            .filter(|(k, _)| kinds.contains(k))
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// Names of the given kinds, for "did you mean".
    pub fn names_of<'a>(&'a self, kinds: &'a [DefKind]) -> impl Iterator<Item = &'a str> + 'a {
        self.names
            .iter()
            .filter(|(_, d)| kinds.contains(&d.kind))
            .map(|(n, _)| n.as_str())
    }
}

/// The items a file declares itself, in order, duplicates included.
fn own_defs(db: &dyn Db, file: SourceFile) -> impl Iterator<Item = (&String, Def)> {
    item_heads(db, file)
        .iter()
        .enumerate()
        .filter_map(move |(index, (keyword, name))| {
            let (kind, name) = (DefKind::of(*keyword)?, name.as_ref()?);
            let item = ItemRef {
                file,
                index: index as u32,
            };
            let module = (kind == DefKind::Module)
                .then(|| import_target(db, item))
                .flatten();
            Some((name, Def { kind, item, module }))
        })
}

/// The items a file declares itself, by name (the first of duplicates).
#[salsa::tracked(returns(ref))]
pub fn own_names(db: &dyn Db, file: SourceFile) -> BTreeMap<String, Def> {
    let mut names = BTreeMap::new();
    for (name, def) in own_defs(db, file) {
        names.entry(name.clone()).or_insert(def);
    }
    names
}

/// The file an `import` item leads to, if it was loaded.
pub fn import_target(db: &dyn Db, import: ItemRef) -> Option<SourceFile> {
    let position = item_heads(db, import.file)[..import.index as usize]
        .iter()
        .filter(|(k, _)| *k == ItemKeyword::Import)
        .count();
    match import.file.imports(db).get(position) {
        Some(ImportTarget::File(f)) => Some(*f),
        _ => None,
    }
}

/// The standard library file of the workspace this file belongs to.
pub fn std_file(db: &dyn Db, file: SourceFile) -> Option<SourceFile> {
    file.imports(db).iter().find_map(|t| match t {
        ImportTarget::File(f) if f.is_std(db) => Some(*f),
        _ => None,
    })
}

/// A file's scope; reports duplicate names and problems with imports.
#[salsa::tracked(returns(ref))]
pub fn scope(db: &dyn Db, file: SourceFile) -> Scope {
    let mut names: BTreeMap<String, Def> = BTreeMap::new();
    // Own items first: duplicates among them point at both declarations.
    for (name, def) in own_defs(db, file) {
        if let Some(first) = names.get(name) {
            duplicate(db, name, def.item, first.item);
            continue;
        }
        names.insert(name.clone(), def);
    }
    check_imports(db, file);
    // Then what unaliased imports and the standard library bring in; a clash with an own item
    // is reported once, at the own item.
    let mut imported: Vec<SourceFile> = Vec::new();
    let imports = item_heads(db, file)
        .iter()
        .filter(|(k, _)| *k == ItemKeyword::Import);
    for ((_, alias), target) in imports.zip(file.imports(db)) {
        if let (None, ImportTarget::File(target)) = (alias, target) {
            imported.push(*target);
        }
    }
    if let Some(std) = std_file(db, file).filter(|s| *s != file) {
        imported.push(std);
    }
    for target in imported {
        for (name, def) in own_names(db, target) {
            if def.kind == DefKind::Module {
                continue;
            }
            match names.get(name) {
                Some(existing) if existing.item != def.item => {
                    if existing.item.file == file {
                        duplicate(db, name, existing.item, def.item);
                    }
                }
                Some(_) => {}
                None => {
                    names.insert(name.clone(), *def);
                }
            }
        }
    }
    Scope::new(names)
}

/// The span of a declared item's name, inside the item.
pub fn decl_span(db: &dyn Db, item_ref: ItemRef) -> crate::syntax::Span {
    item(db, item_ref.file, item_ref.index)
        .as_ref()
        .and_then(|i| match &i.kind {
            ItemKind::Capability(c) => Some(c.name.span),
            _ => i.name().map(|n| n.span),
        })
        .unwrap_or_default()
}

fn duplicate(db: &dyn Db, name: &str, second: ItemRef, first: ItemRef) {
    report(
        db,
        Diagnostic::new(
            Code::DuplicateName,
            second.loc(decl_span(db, second)),
            format!("`{name}` is declared more than once"),
            "declared again here",
        )
        .with_label(first.loc(decl_span(db, first)), "first declared here")
        .with_help("rename one of them, or import with `as` to keep the names apart"),
    );
}

fn check_imports(db: &dyn Db, file: SourceFile) {
    let parsed = parse(db, file);
    let mut position = 0;
    for (index, it) in parsed.items.iter().enumerate() {
        let ItemKind::Import(import) = &it.kind else {
            continue;
        };
        let at = Loc::item(file, index as u32, import.path_span);
        match file.imports(db).get(position) {
            Some(ImportTarget::NotFound(path)) => report(
                db,
                Diagnostic::new(
                    Code::ImportNotFound,
                    at,
                    format!("cannot find `{}` to import", import.path),
                    format!("no file at {}", path.display()),
                )
                .with_help("import paths are relative to the importing file"),
            ),
            Some(ImportTarget::EscapesRoot(path, None)) => report(
                db,
                Diagnostic::new(
                    Code::ImportEscapesRoot,
                    at,
                    format!("`{}` is outside the project root", import.path),
                    format!("resolves to {}", path.display()),
                )
                .with_help(
                    "imports may not leave the directory given to hivec; move the file inside it",
                ),
            ),
            Some(ImportTarget::EscapesRoot(path, Some(real))) => report(
                db,
                Diagnostic::new(
                    Code::ImportEscapesRoot,
                    at,
                    format!(
                        "`{}` is outside the project root through a symbolic link",
                        import.path
                    ),
                    format!("{} is really {}", path.display(), real.display()),
                )
                .with_help(
                    "imports may not leave the directory given to hivec, through links either; \
                     copy the file inside it instead of linking to it",
                ),
            ),
            Some(ImportTarget::NotRegular(path, why)) => report(
                db,
                Diagnostic::new(
                    Code::NotRegularFile,
                    at,
                    format!("cannot import `{}`: {why}", import.path),
                    format!("{} was not read", path.display()),
                )
                .with_help("an import must name a `.hive` file"),
            ),
            Some(ImportTarget::Unreadable(path, why)) => report(
                db,
                Diagnostic::new(
                    Code::UnreadableFile,
                    at,
                    format!("cannot read `{}`: {why}", import.path),
                    format!("reading {} failed", path.display()),
                ),
            ),
            _ => {}
        }
        position += 1;
    }
}

/// What a path denotes after name resolution.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// An item, followed by the segments not consumed (field accesses or an enum value).
    Item(Def, usize),
    /// Nothing of that name.
    Unknown,
}

/// Resolves the longest prefix of `path` that names an item (so `std.shell` is one
/// capability and `Focus.bugs` is an enum followed by a value); `alias.name` looks into the
/// imported file. Returns the item and how many segments it consumed.
pub fn resolve_path(db: &dyn Db, file: SourceFile, path: &Path) -> Resolved {
    let scope = scope(db, file);
    // The path's text once, with where each segment starts and ends in it: joining the
    // segments anew for every prefix tried would cost the square of a long path.
    let n = path.segments.len();
    let mut text = String::new();
    let mut bounds = Vec::with_capacity(n);
    for (i, s) in path.segments.iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        bounds.push((text.len(), text.len() + s.text.len()));
        text.push_str(&s.text);
    }
    let joined = |from: usize, to: usize| &text[bounds[from].0..bounds[to - 1].1];
    for take in (1..=n).rev() {
        if let Some(def) = scope.names.get(joined(0, take)) {
            mark(db, def);
            if def.kind == DefKind::Module {
                let Some(module) = def.module else {
                    // The import failed and was reported; do not report its members too.
                    return Resolved::Item(*def, n);
                };
                let inner = own_names(db, module);
                for t2 in (take + 1..=n).rev() {
                    if let Some(d) = inner
                        .get(joined(take, t2))
                        .filter(|d| d.kind != DefKind::Module)
                    {
                        mark(db, d);
                        return Resolved::Item(*d, t2);
                    }
                }
                return Resolved::Item(*def, take);
            }
            return Resolved::Item(*def, take);
        }
    }
    Resolved::Unknown
}

/// A resolved name counts as a use, except a capability's: a capability is used when a step
/// calls it or a route routes it, not when an agent lists it.
fn mark(db: &dyn Db, def: &Def) {
    if def.kind != DefKind::Capability {
        super::unused::mark_used(db, def.item);
    }
}

/// Reports `name` as unknown, suggesting the closest of the names `among`.
pub fn unknown_name(db: &dyn Db, at: Loc, name: &str, what: &str, among: Vec<Arc<[String]>>) {
    unknown(db, Code::UnknownName, at, name, what, among);
}

/// Like [`unknown_name`], with a more specific code (`unknown-type`).
pub fn unknown(
    db: &dyn Db,
    code: Code,
    at: Loc,
    name: &str,
    what: &str,
    among: Vec<Arc<[String]>>,
) {
    // A name a malformed item meant to declare was reported with that item.
    let head = name.split('.').next().unwrap_or(name);
    if parse(db, at.file)
        .broken_names
        .iter()
        .any(|b| b == name || b == head)
    {
        return;
    }
    report(
        db,
        Diagnostic::new(
            code,
            at,
            format!("unknown {what} `{name}`"),
            format!("no {what} of this name"),
        )
        .with_suggestion(name, among),
    );
}

/// The item of kind `kind` that `name` names, marked used; otherwise a diagnostic `code`
/// ("unknown {what}") whose fix is the closest name of that kind, when one is close.
pub fn resolve_named(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    name: &crate::syntax::ast::Name,
    (kind, code, what): (DefKind, Code, &str),
) -> Option<ItemRef> {
    let sc = scope(db, file);
    if let Some(def) = sc.names.get(&name.text).filter(|d| d.kind == kind) {
        super::unused::mark_used(db, def.item);
        return Some(def.item);
    }
    let kinds = [kind];
    let d = Diagnostic::new(
        code,
        owner.loc(name.span),
        format!("unknown {what} `{}`", name.text),
        format!("no {what} of this name"),
    )
    .with_did_you_mean(&name.text, sc.names_of(&kinds));
    if d.fix.is_some() {
        report(db, d);
    } else {
        unknown(db, code, d.at, &name.text, what, sc.suggestible(&kinds));
    }
    None
}

/// Resolves a path that must name an item of one of `kinds` (agents, pools, capabilities…);
/// reports unknown names and names of the wrong kind.
pub fn expect_item(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    path: &Path,
    kinds: &[DefKind],
    what: &str,
) -> Option<Def> {
    match resolve_path(db, file, path) {
        Resolved::Item(def, used) if used == path.segments.len() && kinds.contains(&def.kind) => {
            Some(def)
        }
        Resolved::Item(def, used) if used == path.segments.len() => {
            if def.kind == DefKind::Module && def.module.is_none() {
                return None;
            }
            report(
                db,
                Diagnostic::new(
                    Code::WrongKind,
                    owner.loc(path.span),
                    format!(
                        "`{}` is {}, not {}",
                        path.text(),
                        def.kind.a_word(),
                        a(what)
                    ),
                    format!("expected {}", a(what)),
                )
                .with_label(def.item.loc(decl_span(db, def.item)), "declared here"),
            );
            None
        }
        _ => {
            unknown_name(
                db,
                owner.loc(path.span),
                &path.text(),
                what,
                scope(db, file).suggestible(kinds),
            );
            None
        }
    }
}

/// The name an item declares.
pub fn decl_name(db: &dyn Db, item_ref: ItemRef) -> String {
    item_heads(db, item_ref.file)
        .get(item_ref.index as usize)
        .and_then(|(_, n)| n.clone())
        .unwrap_or_default()
}

/// `word` with its indefinite article: `a capability`, `an agent or pool`.
pub fn a(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

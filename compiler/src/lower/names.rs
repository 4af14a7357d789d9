//! Plan-wide names: every item of a root file's closure gets one key, unique in the plan.

use crate::check::graph::file_closure;
use crate::check::scope::{DefKind, ItemRef};
use crate::db::{Db, SourceFile};
use crate::queries::item_heads;
use crate::syntax::ast::ItemKeyword;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

/// Item → plan key. Items keep their declared name; when two files of the closure declare the
/// same name, the one met later (the root file comes first) is keyed `name@path`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    keys: BTreeMap<ItemRef, String>,
}

impl Names {
    /// Names every declaring item of `root`'s closure; `paths` gives each file's path as the
    /// plan shows it.
    pub fn new(db: &dyn Db, root: SourceFile, paths: &FxHashMap<SourceFile, String>) -> Names {
        let mut taken = BTreeSet::new();
        let mut keys = BTreeMap::new();
        for file in file_closure(db, root) {
            for (index, (keyword, name)) in item_heads(db, *file).iter().enumerate() {
                let Some(name) = name else { continue };
                if matches!(keyword, ItemKeyword::Import | ItemKeyword::Route) {
                    continue;
                }
                let key = if taken.insert(name.clone()) {
                    name.clone()
                } else {
                    let path = paths.get(file).map_or("?", String::as_str);
                    format!("{name}@{path}")
                };
                let r = ItemRef {
                    file: *file,
                    index: index as u32,
                };
                keys.insert(r, key);
            }
        }
        Names { keys }
    }

    /// The key of `item`.
    pub fn of(&self, item: ItemRef) -> String {
        self.keys.get(&item).cloned().unwrap_or_default()
    }

    /// Keys of the items of one kind, in closure order.
    pub fn items<'a>(
        &'a self,
        db: &'a dyn Db,
        kind: DefKind,
    ) -> impl Iterator<Item = (ItemRef, &'a String)> + 'a {
        self.keys.iter().filter_map(move |(r, k)| {
            let keyword = item_heads(db, r.file).get(r.index as usize)?.0;
            (DefKind::of(keyword) == Some(kind)).then_some((*r, k))
        })
    }
}

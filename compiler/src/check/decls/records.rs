//! Records and enums: their fields and values, checked once per item.

use super::*;

/// A record's fields.
pub fn record_fields(db: &dyn Db, r: ItemRef) -> &Vec<FieldTy> {
    record_fields_of(db, r.file, r.index)
}

#[salsa::tracked(returns(ref))]
pub(super) fn record_fields_of(db: &dyn Db, file: SourceFile, index: u32) -> Vec<FieldTy> {
    let owner = ItemRef { file, index };
    let Some(ItemKind::Type(t)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return Vec::new();
    };
    no_duplicate_fields(db, owner, &t.fields, "field");
    let fields: Vec<FieldTy> = t
        .fields
        .iter()
        .map(|f| FieldTy {
            name: f.name.text.clone(),
            ty: resolve_type(db, file, owner, &f.ty),
            has_default: f.default.is_some(),
        })
        .collect();
    for (f, ft) in t.fields.iter().zip(&fields) {
        if let Some(default) = &f.default {
            let mut cx = ExprCx::new(db, file, owner);
            cx.check(
                default,
                &ft.ty,
                format_args!("the default of `{}`", ft.name),
            );
        }
    }
    fields
}

pub(super) fn no_duplicate_fields(db: &dyn Db, owner: ItemRef, fields: &[Field], what: &str) {
    for (i, f) in fields.iter().enumerate() {
        if let Some(first) = fields[..i].iter().find(|g| g.name.text == f.name.text) {
            report(
                db,
                Diagnostic::twice(
                    format!("{what} `{}`", f.name.text),
                    "declared",
                    owner.loc(f.name.span),
                    Some(owner.loc(first.name.span)),
                ),
            );
        }
    }
}

/// An enum's values.
pub fn enum_variants(db: &dyn Db, r: ItemRef) -> &Vec<String> {
    enum_variants_of(db, r.file, r.index)
}

#[salsa::tracked(returns(ref))]
pub(super) fn enum_variants_of(db: &dyn Db, file: SourceFile, index: u32) -> Vec<String> {
    let Some(ItemKind::Enum(e)) = item(db, file, index).as_ref().map(|i| &i.kind) else {
        return Vec::new();
    };
    let owner = ItemRef { file, index };
    for (i, (_, v)) in e.variants.iter().enumerate() {
        if let Some((_, first)) = e.variants[..i].iter().find(|(_, w)| w.text == v.text) {
            report(
                db,
                Diagnostic::twice(
                    format!("enum value `{}`", v.text),
                    "declared",
                    owner.loc(v.span),
                    Some(owner.loc(first.span)),
                ),
            );
        }
    }
    e.variants.iter().map(|(_, v)| v.text.clone()).collect()
}

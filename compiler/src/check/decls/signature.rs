//! Signatures of capabilities and workflows: what a step that calls one passes and gets.

use super::*;

/// A parameter of a capability or workflow.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParamSig {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// Whether it may be left out.
    pub has_default: bool,
    /// Where it is declared, inside its item.
    pub span: Span,
}

/// The typed signature of a capability or workflow.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// Full name (`std.shell`).
    pub name: String,
    /// Parameters in order.
    pub params: Vec<ParamSig>,
    /// Return type.
    pub ret: Ty,
}

impl Signature {
    /// The arguments as a record type (`input` in routes and strategies).
    pub fn input_type(&self) -> Ty {
        Ty::Anon(
            self.params
                .iter()
                .map(|p| (p.name.clone(), p.ty.clone()))
                .collect(),
        )
    }
}

pub(super) fn signature(
    db: &dyn Db,
    file: SourceFile,
    owner: ItemRef,
    name: String,
    params: &[Field],
    ret: &crate::syntax::ast::TypeExpr,
) -> Signature {
    no_duplicate_fields(db, owner, params, "parameter");
    let params: Vec<ParamSig> = params
        .iter()
        .map(|p| {
            let ty = resolve_type(db, file, owner, &p.ty);
            if let Some(d) = &p.default {
                let mut cx = ExprCx::new(db, file, owner);
                cx.check(d, &ty, format_args!("the default of `{}`", p.name.text));
            }
            ParamSig {
                name: p.name.text.clone(),
                ty,
                has_default: p.default.is_some(),
                span: p.name.span,
            }
        })
        .collect();
    Signature {
        name,
        params,
        ret: resolve_type(db, file, owner, ret),
    }
}

/// A capability's signature.
#[salsa::tracked(returns(ref))]
pub fn capability_signature(db: &dyn Db, file: SourceFile, index: u32) -> Option<Signature> {
    let it = item(db, file, index).as_ref()?;
    let ItemKind::Capability(c) = &it.kind else {
        return None;
    };
    Some(signature(
        db,
        file,
        ItemRef { file, index },
        c.name.text(),
        &c.params,
        &c.ret,
    ))
}

/// A workflow's signature (parameters and return type, not its body).
#[salsa::tracked(returns(ref))]
pub fn workflow_signature(db: &dyn Db, file: SourceFile, index: u32) -> Option<Signature> {
    let it = item(db, file, index).as_ref()?;
    let ItemKind::Workflow(w) = &it.kind else {
        return None;
    };
    Some(signature(
        db,
        file,
        ItemRef { file, index },
        w.name.text.clone(),
        &w.params,
        &w.ret,
    ))
}

/// The signature of a capability or workflow by reference.
pub fn callee_signature(db: &dyn Db, r: ItemRef, kind: DefKind) -> Option<&Signature> {
    match kind {
        DefKind::Capability => capability_signature(db, r.file, r.index).as_ref(),
        DefKind::Workflow => workflow_signature(db, r.file, r.index).as_ref(),
        _ => None,
    }
}

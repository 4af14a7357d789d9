//! Values that names in a running workflow's expressions refer to.

use crate::eval::Scope;
use serde_json::{Map, Value};
use std::sync::{LazyLock, OnceLock};

static NO_PARAMS: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

/// Parameters, finished steps and loop variables of one workflow run.
pub struct RunScope<'a> {
    /// The workflow's inputs.
    pub params: &'a Map<String, Value>,
    /// Each step's value once it has finished.
    pub steps: &'a [OnceLock<Value>],
    /// Loop variables and the route locals `input` and `priority`, innermost last.
    pub locals: &'a [(&'a str, &'a Value)],
    /// The run's shared state, where `state.name` may be read.
    pub state: Option<&'a crate::state::Store>,
}

impl<'a> RunScope<'a> {
    /// A scope of `locals` alone: constants, defaults, route conditions and hash keys.
    pub fn locals(locals: &'a [(&'a str, &'a Value)]) -> RunScope<'a> {
        RunScope {
            params: &NO_PARAMS,
            steps: &[],
            locals,
            state: None,
        }
    }
}

impl Scope for RunScope<'_> {
    fn param(&self, name: &str) -> Option<&Value> {
        self.params.get(name)
    }

    fn step(&self, index: usize) -> Option<&Value> {
        self.steps.get(index).and_then(OnceLock::get)
    }

    fn state(&self, cell: &str) -> Option<Value> {
        self.state.and_then(|s| s.value(cell))
    }

    fn local(&self, name: &str) -> Option<&Value> {
        self.locals
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

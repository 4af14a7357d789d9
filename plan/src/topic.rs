//! Topics: typed messages of a run, published by steps and agents and received by steps and
//! subscribing agents.

use crate::{Loc, Type};
use serde::{Deserialize, Serialize};

/// A declared topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// The type of every message it carries.
    #[serde(rename = "type")]
    pub ty: Type,
    /// How long a message stays for receivers that start later; none for the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_ms: Option<u64>,
    /// A message whose key was published within this window is dropped; none for no dedupe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe_ms: Option<u64>,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Where it is declared.
    pub loc: Loc,
}

//! The run history of `hivec serve` under `--data DIR`: one directory per run under
//! `DIR/runs/`, holding `run.json` (the run as `GET /v1/runs/{id}` last showed it) and
//! `journal.jsonl` (the run's journal, which a resumed or retried run continues).
//!
//! Invariant: `run.json` is replaced whole (written aside, then renamed), so a kill leaves
//! the old record or the new one, never half of one; the directory and its files are the
//! owner's alone, since outputs and inputs may hold secrets.

use hive_runtime::journal::{Header, Journal, Record, Sink};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where runs are kept.
pub struct History {
    runs: PathBuf,
}

/// The data directory when `--data` is not given: `hive/serve` under the user's data
/// directory (`$XDG_DATA_HOME`, else `~/.local/share`).
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("hive").join("serve"))
}

impl History {
    /// Opens (creating it if need be) the history under `dir`.
    pub fn open(dir: &Path) -> Result<History, String> {
        let runs = dir.join("runs");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&runs)
            .map_err(|e| format!("cannot create the data directory {}: {e}", runs.display()))?;
        Ok(History { runs })
    }

    /// Every run recorded, in the order of their ids; a record that cannot be read is
    /// reported in `problems` and skipped.
    pub fn load(&self, problems: &mut Vec<String>) -> Vec<Value> {
        let entries = match fs::read_dir(&self.runs) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("cannot read {}: {e}", self.runs.display()));
                return Vec::new();
            }
        };
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect();
        ids.sort();
        let mut runs = Vec::new();
        for id in ids {
            let path = self.runs.join(&id).join("run.json");
            let read = fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
            match read {
                Ok(run) if run["id"] == id.as_str() => runs.push(run),
                Ok(_) => problems.push(format!("{}: not the record of run {id}", path.display())),
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
        runs
    }

    /// Records `run` (its `id` names its directory), replacing what was recorded.
    pub fn save(&self, run: &Value) -> Result<(), String> {
        let id = run["id"].as_str().unwrap_or_default();
        let dir = self.dir_of(id)?;
        let path = dir.join("run.json");
        let aside = dir.join(".run.json.new");
        let text = serde_json::to_string(run).unwrap_or_default();
        fs::write(&aside, text)
            .and_then(|()| fs::set_permissions(&aside, fs::Permissions::from_mode(0o600)))
            .and_then(|()| fs::rename(&aside, &path))
            .map_err(|e| format!("cannot record run {id} in {}: {e}", path.display()))
    }

    /// Starts the journal of run `id`.
    pub fn create_journal(&self, id: &str, header: &Header) -> Result<Journal, String> {
        Journal::create(&self.dir_of(id)?.join("journal.jsonl"), header)
    }

    /// Reads the journal of run `id` to continue it.
    pub fn reopen_journal(&self, id: &str) -> Result<(Box<dyn Sink>, Record), String> {
        Journal::reopen(&self.dir_of(id)?.join("journal.jsonl"))
    }

    /// The directory of run `id`, made if need be; an id that could leave the history's
    /// directory is refused.
    fn dir_of(&self, id: &str) -> Result<PathBuf, String> {
        let plain = !id.is_empty()
            && !id.starts_with('.')
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !plain {
            return Err(format!("`{id}` is not a run id"));
        }
        let dir = self.runs.join(id);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(dir)
    }
}

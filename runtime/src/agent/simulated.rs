//! Simulated agents for `hivec run --simulate`: an attempt waits the agent's `latency` (with
//! jitter) on the run's clock, fails with its `failure_rate`, and otherwise returns its
//! `output` or a value generated from the capability's return type.
//!
//! Under `--simulate` the clock is tokio's paused clock, which jumps to the next timer
//! whenever every task is waiting, so a simulated hour takes microseconds.

use super::{Attempt, Instance, Task, TaskError};
use hive_plan::{Plan, Simulate, Type, TypeDef};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Elements in a generated list: enough that a `for` over a simulated output has work to
/// spread, few enough to keep nested lists small.
const LIST_LEN: usize = 3;

/// Standard capabilities that touch nothing outside the run: a simulated `std` agent without
/// a `simulate` block runs them as they are (`std.sleep` then waits on the virtual clock).
/// The others (`std.shell`, files) are simulated, since a simulation must not act.
const PURE_STD: &[&str] = &["std.echo", "std.sleep", "std.fail", "std.log"];

/// One instance of a simulated agent.
pub struct SimulatedInstance {
    behaviour: Simulate,
    /// The `output` value, evaluated once at start.
    output: Option<Value>,
    plan: Arc<Plan>,
    rng: Mutex<fastrand::Rng>,
    /// The real `std` agent, for [`PURE_STD`] capabilities of a `std` agent that has no
    /// `simulate` block.
    std: Option<super::std_agent::StdAgent>,
}

impl SimulatedInstance {
    /// An instance behaving as `behaviour` says; `seed` fixes its jitter and failures.
    pub fn new(
        behaviour: Simulate,
        output: Option<Value>,
        plan: Arc<Plan>,
        seed: u64,
    ) -> SimulatedInstance {
        SimulatedInstance {
            behaviour,
            output,
            plan,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            std: None,
        }
    }

    /// A `std` agent without a `simulate` block: pure capabilities run as they are, the
    /// others answer at once with a generated value.
    pub fn std(plan: Arc<Plan>) -> SimulatedInstance {
        let behaviour = Simulate {
            latency_ms: 0,
            jitter_ms: 0,
            failure_rate: 0.0,
            output: None,
        };
        SimulatedInstance {
            std: Some(super::std_agent::StdAgent::default()),
            ..SimulatedInstance::new(behaviour, None, plan, 0)
        }
    }
}

impl Instance for SimulatedInstance {
    fn execute(&self, task: Task) -> Attempt {
        if let Some(std) = &self.std
            && PURE_STD.contains(&task.capability.as_str())
        {
            return std.execute(task);
        }
        let (delay, fails) = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            // Summed in i128, so that no latency or jitter a plan can hold overflows; a jitter
            // beyond i64 (hundreds of millions of years) is drawn from i64's range.
            let jitter = i64::try_from(self.behaviour.jitter_ms).unwrap_or(i64::MAX);
            let offset = if jitter == 0 {
                0
            } else {
                rng.i64(-jitter..=jitter)
            };
            let delay = i128::from(self.behaviour.latency_ms) + i128::from(offset);
            let delay = u64::try_from(delay.max(0)).unwrap_or(u64::MAX);
            (delay, rng.f64() < self.behaviour.failure_rate)
        };
        let output = match &self.output {
            Some(v) => Ok(v.clone()),
            None => match self.plan.capabilities.get(&task.capability) {
                Some(cap) => Ok(generate(&cap.returns, &self.plan.types, 0)),
                None => Err(TaskError::fatal(format!(
                    "the plan has no capability `{}`",
                    task.capability
                ))),
            },
        };
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            if fails {
                return Err(TaskError::retryable("simulated failure"));
            }
            output
        })
    }

    fn immediate(&self, task: &Task) -> Option<Result<Value, TaskError>> {
        match &self.std {
            Some(std) if PURE_STD.contains(&task.capability.as_str()) => std.immediate(task),
            _ => None,
        }
    }

    fn bid(&self, _task: &Task) -> super::Bid {
        if self.std.is_some() {
            return super::Bid::None;
        }
        super::Bid::Now(self.behaviour.latency_ms as f64)
    }
}

/// A value of type `ty`: empty text, zeros, `true`, the first variant of an enum, records
/// with every field generated, lists of [`LIST_LEN`] elements and `null` for optionals and
/// `json`, and empty maps. Deeply nested lists stop empty.
pub fn generate(ty: &Type, types: &BTreeMap<String, TypeDef>, depth: usize) -> Value {
    match ty {
        Type::String => Value::String(String::new()),
        Type::Int | Type::Duration | Type::Size => Value::from(0),
        Type::Float => Value::from(0.0),
        Type::Bool => Value::Bool(true),
        Type::Json | Type::Optional(_) => Value::Null,
        Type::List(_) if depth >= 4 => Value::Array(Vec::new()),
        Type::List(t) => Value::Array(
            (0..LIST_LEN)
                .map(|_| generate(t, types, depth + 1))
                .collect(),
        ),
        Type::Map(_) => Value::Object(Map::new()),
        Type::Record(name) => match types.get(name) {
            Some(TypeDef::Record(defs)) => {
                record(defs.iter().map(|f| (&f.name, &f.ty)), types, depth)
            }
            _ => Value::Null,
        },
        Type::Enum(name) => match types.get(name) {
            Some(TypeDef::Enum(variants)) => variants
                .first()
                .map_or(Value::Null, |v| Value::String(v.clone())),
            _ => Value::Null,
        },
        Type::Fields(defs) => record(defs.iter().map(|(n, t)| (n, t)), types, depth),
    }
}

/// A record with every field generated.
fn record<'t>(
    fields: impl Iterator<Item = (&'t String, &'t Type)>,
    types: &BTreeMap<String, TypeDef>,
    depth: usize,
) -> Value {
    Value::Object(
        fields
            .map(|(name, t)| (name.clone(), generate(t, types, depth + 1)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hive_plan::FieldDef;

    #[test]
    fn generated_values_conform_to_their_type() {
        let mut types = BTreeMap::new();
        types.insert(
            "Level".to_string(),
            TypeDef::Enum(vec!["low".into(), "high".into()]),
        );
        types.insert(
            "Finding".to_string(),
            TypeDef::Record(vec![
                FieldDef {
                    name: "level".into(),
                    ty: Type::Enum("Level".into()),
                    default: None,
                },
                FieldDef {
                    name: "notes".into(),
                    ty: Type::List(Box::new(Type::Optional(Box::new(Type::String)))),
                    default: None,
                },
            ]),
        );
        let ty = Type::List(Box::new(Type::Record("Finding".into())));
        let value = generate(&ty, &types, 0);
        assert_eq!(value.as_array().map(Vec::len), Some(LIST_LEN));
        assert_eq!(value[0]["level"], "low");
        crate::conform::conform(value, &ty, &types).expect("a generated value conforms");
    }
}

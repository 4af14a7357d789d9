//! Handing the attempts the dispatcher records to the run's observer (`crate::observe`).

use super::{Dispatcher, Span, State};
use crate::observe::Observer;
use std::sync::Arc;
use std::time::Duration;

impl Dispatcher {
    /// Tells `observer` of every attempt recorded from now on; `keep_spans` says whether
    /// the trace still keeps them too.
    pub fn observe(&self, observer: Arc<dyn Observer>, keep_spans: bool) {
        self.write(|s| {
            s.observer = Some(observer);
            s.keep_spans = keep_spans;
        });
    }
}

impl State {
    /// Tells the observer, if there is one, of the attempt `span`.
    pub(super) fn tell(&self, span: &Span) {
        if let Some(observer) = &self.observer {
            let agent = self.fleet.get(span.member).map_or("?", |m| m.name.as_str());
            observer.attempt(
                agent,
                &span.capability,
                &span.outcome,
                Duration::from_micros(span.duration_us),
            );
        }
    }
}

//! The registry of diagnostic codes: each has a stable code, a kebab-case name and a long
//! explanation (`syntax/explain/<code>.md`, printed by `hivec explain`).

use crate::diagnostic::Severity;
use serde::Serialize;

macro_rules! codes {
    ($($variant:ident = $code:literal $name:literal,)*) => {
        /// A diagnostic code. The string form (`E0101`) never changes meaning once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum Code { $(
            #[doc = $name]
            $variant,
        )* }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// `E0101`
            pub fn code(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// `unknown-name`
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The long explanation, Markdown.
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$variant => include_str!(concat!("../explain/", $code, ".md")),)* }
            }
        }
    };
}

codes! {
    SyntaxError = "E0001" "syntax-error",
    NestingTooDeep = "E0002" "nesting-too-deep",
    FileTooLarge = "E0003" "file-too-large",
    NotUtf8 = "E0004" "not-utf8",
    InvalidLiteral = "E0005" "invalid-literal",
    MissingComma = "E0006" "missing-comma",
    UnreadableFile = "E0007" "unreadable-file",
    TooManyErrors = "E0008" "too-many-errors",
    NotRegularFile = "E0009" "not-a-regular-file",
    UnknownName = "E0101" "unknown-name",
    DuplicateName = "E0102" "duplicate-name",
    ImportNotFound = "E0103" "import-not-found",
    ImportEscapesRoot = "E0104" "import-escapes-root",
    ImportCycle = "E0105" "import-cycle",
    UnknownType = "E0106" "unknown-type",
    WrongKind = "E0107" "wrong-kind",
    TypeMismatch = "E0201" "type-mismatch",
    MissingArgument = "E0202" "missing-argument",
    UnknownArgument = "E0203" "unknown-argument",
    WrongArity = "E0204" "wrong-arity",
    UnknownField = "E0205" "unknown-field",
    CapabilityCallInExpression = "E0206" "capability-call-in-expression",
    OutputTypeMismatch = "E0207" "output-type-mismatch",
    MissingOutput = "E0208" "missing-output",
    NotCallable = "E0209" "not-callable",
    PositionalArgument = "E0210" "positional-argument",
    InvalidOperands = "E0211" "invalid-operands",
    MissingField = "E0212" "missing-field",
    DuplicateEntry = "E0213" "duplicate-entry",
    OptionalMisuse = "E0214" "optional-misuse",
    UnknownProperty = "E0301" "unknown-property",
    MissingProperty = "E0302" "missing-property",
    InvalidPropertyValue = "E0303" "invalid-property-value",
    ValueOutOfRange = "E0304" "value-out-of-range",
    UnknownStrategy = "E0305" "unknown-strategy",
    InvalidStrategyArgument = "E0306" "invalid-strategy-argument",
    ConflictingProperties = "E0307" "conflicting-properties",
    UnprovidedCapability = "E0401" "unprovided-capability",
    TargetLacksCapability = "E0402" "target-lacks-capability",
    InvalidPoolMember = "E0403" "invalid-pool-member",
    ResourcesFitNoAgent = "E0404" "resources-fit-no-agent",
    ReplicasExceedAgents = "E0405" "replicas-exceed-agents",
    StepCycle = "E0501" "step-cycle",
    WorkflowRecursion = "E0502" "workflow-recursion",
    BudgetExceeded = "E0503" "budget-exceeded",
    UnknownState = "E0601" "unknown-state",
    ReducerTypeMismatch = "E0602" "reducer-type-mismatch",
    StateWithoutDefault = "E0603" "state-without-default",
    ConcurrentWrites = "E0604" "concurrent-writes",
    UnknownTopic = "E0701" "unknown-topic",
    TopicTypeMismatch = "E0702" "topic-type-mismatch",
    PredicateNotBool = "E0703" "predicate-not-bool",
    TopicArguments = "E0704" "topic-arguments",
    MulticastWithoutBroadcast = "E0801" "multicast-without-broadcast",
    BroadcastConflict = "E0802" "broadcast-conflict",
    BroadcastWorkflowCall = "E0803" "broadcast-workflow-call",
    BroadcastConditionalRoute = "E0804" "broadcast-conditional-route",
    BroadcastMemberTooSmall = "E0805" "broadcast-member-too-small",
    UnusedItem = "W0001" "unused-item",
    MemberLacksCapability = "W0002" "member-lacks-capability",
    EqualWeights = "W0003" "equal-weights",
    TimeoutExceeded = "W0004" "timeout-exceeded",
    TooManyWarnings = "W0005" "too-many-warnings",
    ShellInterpolation = "W0006" "shell-interpolation",
    RacyStateRead = "W0007" "racy-state-read",
    ReceiveWithoutTimeout = "W0008" "receive-without-timeout",
}

impl Code {
    /// Errors start with `E`, warnings with `W`.
    pub fn severity(self) -> Severity {
        if self.code().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    /// Looks a code up by its code (`E0101`, case-insensitive) or name (`unknown-name`).
    pub fn lookup(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.code().eq_ignore_ascii_case(text) || c.name() == text)
    }
}

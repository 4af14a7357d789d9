//! `hivec`: check, plan, run and explain `.hive` files.
//!
//! The only crate that touches the terminal: it loads files, asks the compiler, prints.

mod check;
mod dlq;
mod fmt;
mod inputs;
mod lsp;
mod metrics;
mod out;
mod plan;
mod progress;
mod publish;
mod remote;
mod run;
mod serve;
mod steps;
mod worker;

use clap::{Parser, Subcommand, ValueEnum};
use out::{errln, outln};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

// The compiler allocates many small tree nodes from several threads; mimalloc's per-thread
// heaps make that markedly cheaper than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: hive_runtime::allocator::Allocator = hive_runtime::allocator::Allocator;

#[derive(Parser)]
#[command(
    name = "hivec",
    version,
    about = "Compiler for .hive multi-agent workflows"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check files and directories; report every problem.
    Check {
        /// `.hive` files or directories (searched recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: CheckFormat,
        /// Imports may not leave this directory (default: the directory of each file).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Colour the output (default: when stdout is a terminal).
        #[arg(long, value_enum, default_value = "auto")]
        color: Color,
    },
    /// Check a file and print its execution plan.
    Plan {
        /// The `.hive` file.
        file: PathBuf,
        /// Only this workflow (and the workflows it calls).
        #[arg(long)]
        workflow: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: PlanFormat,
        /// Imports may not leave this directory (default: the file's directory).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Colour the diagnostics (default: when stderr is a terminal).
        #[arg(long, value_enum, default_value = "auto")]
        color: Color,
    },
    /// Run a workflow: its output as JSON on stdout, a summary per agent on stderr.
    Run(run::RunArgs),
    /// Serve the files' workflows over an HTTP JSON API (`/v1/runs`).
    Serve(serve::ServeArgs),
    /// Host a file's exec agents for distributed runs (`hivec run --redis`).
    Worker(worker::WorkerArgs),
    /// The dead letters of distributed runs: `list`, `show ID`, `purge`.
    Dlq(dlq::DlqArgs),
    /// Publish a message to a topic of distributed runs in progress (`--redis`).
    Publish(publish::PublishArgs),
    /// Rewrite files in the canonical layout (`-` formats standard input to standard output).
    Fmt {
        /// `.hive` files or directories (searched recursively), or `-`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing; list the files that are not formatted and exit 1 if there are any.
        #[arg(long)]
        check: bool,
        /// Colour the diagnostics (default: when stderr is a terminal).
        #[arg(long, value_enum, default_value = "auto")]
        color: Color,
    },
    /// Run the language server over stdio (for editors).
    Lsp,
    /// Print the long explanation of a diagnostic code (`E0101` or `unknown-name`).
    Explain {
        /// The code or its name.
        code: String,
    },
}

/// `hivec check --format`.
#[derive(Clone, Copy, ValueEnum)]
pub enum CheckFormat {
    /// Rendered for people.
    Human,
    /// One JSON object per diagnostic per line.
    Json,
}

/// `hivec plan --format`.
#[derive(Clone, Copy, ValueEnum)]
pub enum PlanFormat {
    /// Steps, targets and bounds, for people.
    Text,
    /// The plan itself, as `hivec run` reads it.
    Json,
    /// The step graphs in Graphviz DOT.
    Dot,
    /// The step graphs as a Mermaid flowchart.
    Mermaid,
}

/// `--color`.
#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    /// When stdout is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            // `--help | head -1`: the help is what failed to print.
            return match e.print() {
                Ok(()) => ExitCode::from(code),
                Err(_) => ExitCode::from(out::CLOSED),
            };
        }
    };
    // One-shot commands keep the memory they free; the long-lived ones take no huge pages
    // (`hive_runtime::allocator`). A run keeps it while compiling only.
    match &cli.command {
        Command::Lsp | Command::Serve(_) | Command::Worker(_) => {
            hive_runtime::allocator::no_huge_pages()
        }
        _ => hive_runtime::allocator::keep_freed_memory(),
    }
    // `RUST_LOG` decides, else `-v` (info) and `-vv` (debug) of `hivec run`; warnings show
    // by default.
    let level = match &cli.command {
        Command::Run(args) if args.verbose >= 2 => "debug,salsa=warn",
        Command::Run(args) if args.verbose == 1 => "warn,hive=info,hive_runtime=info,hivec=info",
        // A server's log is its record of what ran and who asked.
        Command::Serve(_) => "warn,hivec=info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // The log goes to stderr: coloured as the command's `--color` says for stderr.
    let color = match &cli.command {
        Command::Check { color, .. } | Command::Plan { color, .. } | Command::Fmt { color, .. } => {
            *color
        }
        Command::Run(args) => args.color,
        Command::Worker(args) => args.color,
        Command::Serve(args) => args.color,
        Command::Dlq(_) => Color::Auto,
        Command::Publish(args) => args.color,
        Command::Lsp | Command::Explain { .. } => Color::Auto,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(check::use_color(color, std::io::stderr().is_terminal()))
        .with_writer(out::Log)
        .log_internal_errors(false)
        .init();
    let code = match cli.command {
        Command::Check {
            paths,
            format,
            root,
            color,
        } => check::run(&paths, format, root.as_deref(), color),
        Command::Plan {
            file,
            workflow,
            format,
            root,
            color,
        } => plan::run(&file, workflow.as_deref(), format, root.as_deref(), color),
        Command::Run(args) => run::run(&args),
        Command::Worker(args) => worker::worker(&args),
        Command::Serve(args) => serve::serve(&args),
        Command::Dlq(args) => dlq::dlq(&args),
        Command::Publish(args) => publish::publish(&args),
        Command::Lsp => lsp::run(),
        Command::Fmt {
            paths,
            check,
            color,
        } => fmt::run(&paths, check, color),
        Command::Explain { code } => explain(&code),
    };
    // The process ends: mimalloc would otherwise give its freed memory back at exit, a
    // system call per range, for the kernel to take back a moment later anyway.
    hive_runtime::allocator::keep_freed_memory();
    out::status(code)
}

/// `hivec explain CODE`.
fn explain(code: &str) -> ExitCode {
    match hive_compiler::codes::Code::lookup(code) {
        Some(c) => {
            outln!(
                "{} ({})\n\n{}",
                c.code(),
                c.name(),
                c.explanation().trim_end()
            );
            ExitCode::SUCCESS
        }
        None => {
            errln!("error: no diagnostic code `{code}`; codes look like E0101 or unknown-name");
            ExitCode::from(2)
        }
    }
}

use std::process::ExitCode;

fn main() -> ExitCode {
    rehearsal::cli::main()
}

//! One module per subcommand, each an `Args` struct with an `exec()`.

pub mod build;
pub mod call;
pub mod check_compat;
pub mod dev;
pub mod doctor;
pub mod init;
pub mod lattice;
pub mod log;
pub mod new;
pub mod replay;
pub mod replay_rev;
pub mod run;
pub mod serve;
pub mod test;

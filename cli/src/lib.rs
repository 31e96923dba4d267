//! The scenarios behind the `lockstep` command-line tool that are not part of the library: the
//! lecture's race under the deterministic simulator ([`sim_race`]) and message passing under weak
//! memory ([`sim_mp`]).

pub mod sim_mp;
pub mod sim_race;

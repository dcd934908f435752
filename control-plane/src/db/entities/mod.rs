//! SeaORM entities, one per table (schema in the `migrations` crate).

pub mod config_version;
pub mod customer;
pub mod data_plane;
pub mod spend_daily;
pub mod spend_log;
pub mod team;
pub mod team_member;
pub mod user;
pub mod virtual_key;

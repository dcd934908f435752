//! SeaORM entities, one per table (schema in the `migrations` crate).

pub mod config_version;
pub mod data_plane;
pub mod spend_log;
pub mod virtual_key;

//! LiteLLM's `litellm_config.yaml`, accepted unchanged.
//!
//! [`model`] holds the typed view of the file; [`load()`] parses it, resolves
//! `os.environ/NAME` references and reports unknown keys as warnings. The
//! sections Tollgate does not act on yet are still carried verbatim (see
//! [`LoadedConfig::raw_sections`]) so later features and the snapshot see them.

mod env;
mod load;
mod model;
pub mod settings;

pub use env::{EnvLookup, ProcessEnv};
pub use load::{ConfigError, ConfigWarning, LoadedConfig, load, load_file};
pub use model::{
    GeneralSettings, LiteLlmConfig, LitellmParams, LitellmSettings, ModelEntry, ModelInfo,
    RouterSettings,
};

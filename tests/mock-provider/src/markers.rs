//! Model names steer the mock: a test picks a behaviour by naming the
//! model, as a real provider's models differ.

/// A model name containing `cached-<n>` reports `n` of its prompt tokens (at
/// most all of them) as read from the provider's prompt cache, in the
/// provider's own field.
pub const CACHED: &str = "cached-";

/// The number right after `marker` in a model name.
pub fn number_after(model: &str, marker: &str) -> Option<u64> {
    let (_, rest) = model.split_once(marker)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Of `prompt_tokens`, how many the model name says came from the cache.
pub fn cached_of(model: &str, prompt_tokens: u64) -> u64 {
    number_after(model, CACHED).map_or(0, |n| n.min(prompt_tokens))
}

/// A model name containing `cachewrite-<n>` reports `n` of its prompt tokens
/// (at most all of those not read from the cache) as written to the
/// provider's prompt cache (Anthropic's `cache_creation_input_tokens`).
pub const CACHE_WRITE: &str = "cachewrite-";

/// Of `uncached` prompt tokens, how many the model name says were written.
pub fn cache_written_of(model: &str, uncached: u64) -> u64 {
    number_after(model, CACHE_WRITE).map_or(0, |n| n.min(uncached))
}
